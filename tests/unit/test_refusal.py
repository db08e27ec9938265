"""Whose problem a refused domain is (helpers/template/refusal.py): libvirt's own words, as this
machine's libvirt 9.0 and QEMU 7.2 gave them to the lab, each read as the host's or the
template's."""

import pytest

from helpers.template.domxml import Domain
from helpers.template.refusal import Refusal
from tests.support.suite import ROOT

TEMPLATE = Domain.from_string(
    (ROOT / "templates" / "hardened.xml").read_text()
    .replace("machine='q35'", "machine='pc-q35-99.0'")
    .replace("<memballoon model='none'/>",
             "<memballoon model='none'/><watchdog model='diag288' action='reset'/>"))


@pytest.mark.parametrize("message, fix", [
    ("Cannot access backing file '/root/vmiso/.cache/guest/62e35c4c/probe.img' of storage file "
     "'/run/vmiso/1/guests/vmiso-1-hardened-1/disk.qcow2' (as uid:64055, gid:64055): Permission "
     "denied", "QEMU's user (uid 64055, gid 64055) cannot read a file the guest needs: give that "
               "user read access"),
    ("operation failed: Unable to find any firmware to satisfy 'efi'", "apt-get install ovmf"),
    ("operation failed: unable to find any master var store for loader: "
     "/usr/share/OVMF/OVMF_CODE_4M.fd", "apt-get install ovmf"),
    ("unsupported configuration: TPM version '2.0' is not supported",
     "apt-get install swtpm swtpm-tools"),
    ("unsupported configuration: unable to open vhost-vsock device",
     "load the vhost_vsock kernel module on the host"),
    ("Cannot check QEMU binary /usr/bin/qemu-system-aarch64: No such file or directory",
     "install the package that provides it"),
    ("internal error: process exited while connecting to monitor: qemu-system-x86_64: "
     "-blockdev {...}: Could not open '/run/vmiso/1/guests/x/disk.qcow2': No space left on "
     "device", "the host's disk is full: free some space"),
    ("Failed to connect socket to '/run/libvirt/virtlogd-sock': No such file or directory",
     "start virtlogd"),
    # libvirt 9.0 on a host whose libvirtd has no CPU cgroup controller, for <cputune>
    ("unsupported configuration: cgroup cpu is required for scheduler tuning",
     "the host's libvirt has no cpu cgroup controller for QEMU, which scheduler tuning needs: "
     "enable the cpu controller"),
    ("unsupported configuration: Block I/O tuning is not available on this host",
     "the host's libvirt has no blkio cgroup controller for QEMU, which block I/O tuning "
     "needs: enable the blkio controller"),
    # libvirt's client when the host's libvirtd stopped answering (keepalive on)
    ("internal error: connection closed due to keepalive timeout",
     "the host's libvirtd stopped answering while the guest started"),
    ("Timed out during operation: cannot acquire state change lock (held by "
     "monitor=remoteDispatchDomainCreateXML)", "libvirt on the host is busy with another job"),
    # libvirt 9.0 when its machine cgroup vanished under a starting guest
    ("Unable to write to '/sys/fs/cgroup/cpuset/machine/qemu-2-vmiso-8a7ae0-vi-win11-2.libvirt-"
     "qemu/cpuset.memory_migrate': No such file or directory",
     "libvirt could not set up the guest's cgroup on the host"),
    ("internal error: referenced filter 'vmiso-no-host-access' is missing",
     "the traffic filter vmiso-no-host-access the template names is not defined on the host: "
     "define it there"),
])
def test_a_host_problem_names_the_host_fix_and_never_the_template(message, fix):
    refusal = Refusal.of(message, TEMPLATE)
    line = str(refusal)
    assert refusal.on_host and fix in line, line
    assert "in the template" not in line and "\n" not in line


@pytest.mark.parametrize("message, element", [
    ("unsupported configuration: diag288 model of watchdog is allowed for s390 and s390x only",
     "<watchdog>"),
    ("unsupported configuration: Emulator '/usr/bin/qemu-system-x86_64' does not support "
     "machine type 'pc-q35-99.0'", "<type machine='pc-q35-99.0'>"),
    ("unsupported configuration: something new libvirt refuses", "the element libvirt names"),
])
def test_a_template_problem_names_the_element(message, element):
    refusal = Refusal.of(message, TEMPLATE)
    assert not refusal.on_host
    assert str(refusal).endswith(f"change or remove {element} in the template")


RAW_SLOT = Domain.from_string(
    (ROOT / "templates" / "hardened.xml").read_text()
    .replace("<domain type='kvm'>",
             "<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>")
    .replace("</devices>", "</devices><qemu:commandline><qemu:arg value='-device'/>"
             "<qemu:arg value='ati-vga,bus=pcie.0,addr=0x1'/></qemu:commandline>"))


def test_a_raw_device_in_libvirts_pci_slot_is_named_not_a_word_of_the_message():
    """libvirt 9.0 and QEMU 7.2's words for a raw -device on the slot libvirt gives its first
    root port; the message's JSON says "port", which once named the interface's <port>."""
    message = ("internal error: process exited while connecting to monitor: 2026-12-07T05:39:04"
               ".933149Z qemu-system-x86_64: -device {\"driver\":\"pcie-root-port\",\"port\":8,"
               "\"chassis\":1,\"id\":\"pci.1\",\"bus\":\"pcie.0\",\"multifunction\":true,"
               "\"addr\":\"0x1\"}: PCI: slot 1 function 0 not available for pcie-root-port, in "
               "use by ati-vga,id=(null)")
    refusal = Refusal.of(message, RAW_SLOT)
    assert not refusal.on_host
    assert refusal.what.endswith("raw QEMU argument -device ati-vga,bus=pcie.0,addr=0x1")
    assert "<port>" not in str(refusal)


def test_a_device_qemu_refuses_is_traced_to_the_element_that_makes_it():
    message = ("internal error: qemu unexpectedly closed the monitor: qemu-system-x86_64: "
               "-device {\"driver\":\"virtio-net-pci\",\"netdev\":\"hostnet0\",\"id\":\"net0\"}"
               ": something QEMU does not like")
    assert "<interface type='network'> (interface model virtio)" in \
        Refusal.of(message, TEMPLATE).what
