"""Risk 5, shared devices and privileges on the host: who may drive KVM and libvirt, no host
hardware handed to the guest, and the IOMMU that fences any that is."""

import stat

import pytest

from helpers.host import qmp
from helpers.hostconfig import facts
from helpers.hostconfig.socketaccess import SocketAccess
from helpers.probes.host import iommu
from helpers.probes.host.iommu import Iommu
from helpers.template import rules
from helpers.verdict.undecided import Undecided
from helpers.vm import probes

# the devices through which a local user drives virtual machines beside libvirt: KVM itself and
# the in-kernel virtio backends (network, vsock)
GUEST_DEVICES = ("/dev/kvm", "/dev/vhost-net", "/dev/vhost-vsock")
PRIVILEGED_GROUPS = ("kvm", "libvirt")


@pytest.mark.control("DEV-04")
@pytest.mark.outside
def test_kvm_and_vhost_devices_are_not_open_to_everyone(target, evidence):
    modes = {device: target.hypervisor.mode(device) for device in GUEST_DEVICES}
    if all(mode is None for mode in modes.values()):
        pytest.skip(f"none of {', '.join(GUEST_DEVICES)} exists on this host")
    for device, mode in modes.items():
        if mode is None:
            evidence.note(f"{device} permissions", "absent", "no access for others")
        else:
            evidence.check(f"{device} permissions", f"{stat.filemode(mode)} ({mode & 0o777:o})",
                           "no access for others", not mode & 0o007)


@pytest.mark.control("DEV-04")
@pytest.mark.outside
def test_libvirt_socket_is_not_open_to_everyone(target, libvirtd_config, evidence):
    socket = target.socket_path
    mode = target.hypervisor.mode(socket)
    if mode is None:
        raise Undecided(f"libvirt's socket {socket} is not there although the run uses it")
    access = SocketAccess.judge(target.hypervisor, libvirtd_config, mode)
    evidence.check(f"who may drive VMs through libvirt's read-write socket {socket} "
                   f"({stat.filemode(mode)})", access.how, "not every local user",
                   not access.everyone)
    for group in PRIVILEGED_GROUPS:  # listed for a person to review, as the control asks
        users = facts.group_members(target.hypervisor, group)
        evidence.note(f"members of group {group} (each may drive VMs on this host)",
                      "no such group" if users is None else users, "reviewed by a person")


@pytest.mark.control("DEV-02")
@pytest.mark.inside
def test_every_guest_pci_function_is_emulated_by_qemu(guest, evidence):
    emulated = {ids: kind for ids, kind in qmp.qtree_pci_ids(guest.qtree).items()
                if not rules.qtree_surface("DEV-02", [kind])}
    if not emulated:
        raise Undecided("`info qtree` lists no PCI ids: the cross-check cannot decide")
    evidence.note("positive twin: QEMU's device tree lists PCI functions",
                  f"{len(emulated)} emulated ids", "at least one")
    seen = probes.pci_devices(guest)
    evidence.expect_none(f"guest PCI functions ({len(seen)}) that no emulated QEMU device "
                         f"accounts for (passthrough)",
                         [f"{d.slot} {d.vendor}:{d.device}" for d in seen
                          if (d.vendor, d.device) not in emulated])


@pytest.mark.control("DEV-08")
@pytest.mark.outside
def test_passed_through_devices_are_fenced_by_the_iommu(template, target, evidence):
    state = Iommu.read(target.hypervisor)
    passed = template.host_devices
    where = f"the host's IOMMU ({iommu.GROUPS}, {iommu.INTERRUPTS})"
    fenced = "IOMMU groups, interrupt remapping on, allow_unsafe_interrupts off"
    if not passed:
        evidence.note(where, str(state), fenced)
        evidence.check("host devices the template passes through", "none",
                       "none, or each fenced by the IOMMU", not passed)
        return
    evidence.check(f"{where}, fencing {', '.join(passed)}", str(state), fenced, state.fences)
