"""Risk 3, shares and host channels: no host folder, clipboard or agent channel reaches the guest.
The template and QEMU's own device tree are checked for every control in test_template.py."""

import secrets

import pytest

from helpers.host import qmp
from helpers.plugin.options import per_control
from helpers.probes.shares import guestagent
from helpers.probes.shares.hostidentity import host_identity
from helpers.template import rules
from helpers.verdict.undecided import Undecided
from helpers.vm import probes

VIRTIO_9P, VIRTIO_FS = "0x0009", "0x001a"
VIRTIO_BALLOON, VIRTIO_VSOCK = "0x0005", "0x0013"
CANARY_FILE = "vmiso-canary.txt"


@pytest.mark.control("SHR-01")
@pytest.mark.inside
def test_guest_sees_no_share_device(guest, evidence):
    ids = [i for i in probes.virtio_device_ids(guest) if i in (VIRTIO_9P, VIRTIO_FS)]
    evidence.expect_none("virtio device ids 0x0009 (9p) / 0x001a (virtiofs)", ids)
    evidence.expect_none("9p mount tags in sysfs", probes.ninep_tags(guest))


@pytest.mark.control("SHR-01")
@pytest.mark.inside
def test_host_canary_file_never_readable_in_guest(guest, evidence):
    canary = f"vmiso-share-canary-{secrets.token_hex(8)}"
    guest.plant_in_shares(CANARY_FILE, canary + "\n")
    mounts = probes.share_tags(guest)
    seen = [f"{kind}:{tag}" for kind, tag in mounts
            if canary in probes.mount_share(guest, kind, tag).values()]
    evidence.check(f"host canary in {len(guest.share_dirs)} declared share(s), read through "
                   f"{len(mounts)} tag(s) the guest mounted", seen or "not readable",
                   "not readable", not seen)


@pytest.mark.control("SHR-01")
@pytest.mark.inside
def test_guest_file_never_lands_on_the_host(guest, evidence):
    canary = f"vmiso-guest-canary-{secrets.token_hex(8)}"
    name = f"vmiso-from-guest-{secrets.token_hex(4)}.txt"
    mounts = probes.share_tags(guest)
    written = [f"{kind}:{tag}" for kind, tag in mounts
               if probes.write_to_share(guest, kind, tag, name, canary)]
    landed = guest.shares_holding(name, canary)
    evidence.note("guest writes that succeeded", written or "none", "any: the host decides")
    evidence.check(f"a guest file written through {len(mounts)} tag(s), looked for in "
                   f"{len(guest.share_dirs)} host share folder(s)", landed or "never landed",
                   "never landed", not landed)


HOST_CHANNEL_PORTS = {"SHR-02": rules.CLIPBOARD_PORT, "SHR-03": rules.GUEST_AGENT_PORT}


@pytest.mark.outside
@pytest.mark.parametrize("control", per_control(HOST_CHANNEL_PORTS))
def test_qemu_instantiated_no_host_channel_port(control, guest, evidence):
    ports = qmp.qtree_properties(guest.qtree, "virtserialport", "name")
    port = HOST_CHANNEL_PORTS[control]
    evidence.check("QMP info qtree: virtserialport names", ports, f"no {port}", port not in ports)


@pytest.mark.inside
@pytest.mark.parametrize("control", per_control(HOST_CHANNEL_PORTS))
def test_guest_has_no_host_channel_port(control, guest, evidence):
    ports = probes.virtio_port_names(guest)
    port = HOST_CHANNEL_PORTS[control]
    evidence.check("/sys/class/virtio-ports/*/name", ports, f"no {port}", port not in ports)


@pytest.mark.control("SHR-02")
@pytest.mark.inside
def test_host_clipboard_canary_never_reaches_the_guest(guest, clipboard, evidence):
    token = f"vmiso-clip-{secrets.token_hex(6)}"
    trial = clipboard.carry(guest, token)
    if trial.port is None:
        evidence.check(f"a clipboard canary: the guest's {rules.CLIPBOARD_PORT} port",
                       "absent: nothing can carry it", "absent", True)
        return
    evidence.note(f"positive twin: the guest's agent on {trial.port} exchanged capabilities "
                  f"with QEMU", "ready", "ready")
    arrived = token in trial.received
    evidence.check(f"clipboard canary put on {trial.display}, read by the guest's agent",
                   "arrived" if arrived else "never arrived", "never arrived", not arrived)


@pytest.mark.control("SHR-03")
@pytest.mark.outside
@pytest.mark.parametrize("rpc", ["guest-exec", "guest-file-open"])
def test_host_cannot_make_the_guest_agent_act(rpc, guest, evidence):
    token = f"vmiso-ga-{secrets.token_hex(6)}"
    path = f"/tmp/{token}"
    attempt = (guestagent.try_exec if rpc == "guest-exec" else guestagent.try_file_write)(
        guest.domain, path, token)
    evidence.note(f"{rpc} through libvirt's agent API", attempt.outcome, "refused")
    obeyed = token in probes.read_lines(guest, path)
    evidence.check(f"{path} in the guest after the host's {rpc}",
                   "written: the guest obeyed" if obeyed else "absent", "absent", not obeyed)


@pytest.mark.control("SHR-04")
@pytest.mark.inside
def test_guest_smbios_does_not_carry_the_host_identity(guest, target, evidence):
    seen = probes.dmi_identity(guest)
    own_uuid = guest.domain.UUIDString().lower()
    if seen["product_uuid"].lower() != own_uuid:
        raise Undecided(f"the guest's DMI product_uuid {seen['product_uuid']} is not "
                        f"its domain UUID {own_uuid}: the DMI probe reads something else")
    evidence.note("positive twin: the guest reads its own SMBIOS UUID",
                  seen["product_uuid"].lower(), own_uuid)
    host = host_identity(target.conn, target.hypervisor)
    leaked = [f"{k}={v}" for k, v in seen.items() if v.lower() in host]
    evidence.expect_none(f"guest DMI {', '.join(sorted(seen))} equal to one of the host's "
                         f"{len(host)} identifiers (libvirt host UUID, sysinfo, DMI)", leaked)


@pytest.mark.control("SHR-05")
@pytest.mark.inside
def test_guest_sees_no_vsock_or_balloon(guest, evidence):
    ids = [i for i in probes.virtio_device_ids(guest) if i in (VIRTIO_BALLOON, VIRTIO_VSOCK)]
    evidence.expect_none("virtio device ids 0x0005 (balloon) / 0x0013 (vsock)", ids)
    evidence.expect_none("/dev/vsock", [d for d in probes.dev_entries(guest)
                                        if d == "vsock"])
