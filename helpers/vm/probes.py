"""What the guest sees: hardware-level and network probes run over SSH inside the guest.

    read_io_port(guest, 0x3F4)      # 'ff' when nothing decodes that port
    pci_devices(guest)              # [PciDevice('0000:00:01.0', '1af4', '1000', '020000'), ...]

Each probe raises Undecided when it cannot observe (a command failed, output is empty where the
hardware guarantees something): a probe that saw nothing is never read as "device absent".
Hardware and identity probes read from guest.readings, taken once for all of them in one SSH
round trip (helpers/vm/readings.py); probes that act (mount, send, listen) run their own commands.
"""

import re
import time
from dataclasses import dataclass

from helpers.patches import packages
from helpers.verdict.undecided import Undecided
from helpers.vm.readings import IO_PORTS

FDC_STATUS_PORT = 0x3F4
PARALLEL_PORTS = (0x378, 0x278, 0x3BC)
# PnP ids under which the firmware describes a floppy controller and a parallel port
FDC_PNP_IDS = {"PNP0700"}
PARALLEL_PNP_IDS = {"PNP0400", "PNP0401"}


@dataclass(frozen=True)
class PciDevice:
    slot: str
    vendor: str
    device: str
    pci_class: str  # six hex digits: class, subclass, prog-if


def _run(guest, command, *args):
    result = guest.run(command, *args)
    if result.rc != 0:
        raise Undecided(f"`{result.command}` exited {result.rc}: {result.stderr.strip()[:200]}")
    return result.stdout


def read_io_port(guest, port):
    """The byte an inb() of `port` returns, as two hex digits (through /dev/port)."""
    if port in IO_PORTS:
        values = dict(line.split(maxsplit=1) for line in
                      guest.readings.text("io-ports").splitlines() if " " in line)
        value = values.get(str(port), "").strip()
    else:
        value = _run(guest, "dd if=/dev/port bs=1 skip=%s count=1 2>/dev/null | od -An -tx1",
                     str(port)).strip()
    if not re.fullmatch(r"[0-9a-f]{2}", value):
        raise Undecided(f"reading I/O port {port:#x} through /dev/port gave {value!r}")
    return value


def pnp_ids(guest):
    """The PnP ids of the devices the guest's firmware describes (ACPI), upper case."""
    ids = {line.strip().upper() for line in guest.readings.text("pnp").splitlines()
           if line.strip()}
    if not ids:
        raise Undecided("the guest lists no PnP devices, though every PC describes its clock "
                        "and keyboard controller: /sys/bus/pnp is not readable")
    return ids


def locked_down(guest):
    """Whether the guest kernel's lockdown (Secure Boot) keeps /dev/port from userspace."""
    return re.search(r"\[(integrity|confidentiality)\]",
                     guest.readings.text("lockdown")) is not None


def pci_devices(guest):
    devices = []
    for line in guest.readings.text("pci").splitlines():
        parts = line.split()
        if len(parts) == 4:
            slot, vendor, device, pci_class = parts
            devices.append(PciDevice(slot, vendor.removeprefix("0x"), device.removeprefix("0x"),
                                     pci_class.removeprefix("0x")))
    if not devices:
        raise Undecided("the guest lists no PCI devices at all: /sys is not readable")
    return devices


def dev_entries(guest):
    """The names in the guest's /dev."""
    entries = guest.readings.text("dev").split()
    if not entries:
        raise Undecided("the guest's /dev lists nothing: devtmpfs is not mounted")
    return entries


def usb_devices(guest):
    """Entries of /sys/bus/usb/devices (root hubs included); [] when there is no USB bus."""
    return guest.readings.text("usb").split()


VIRTIO_VENDOR = "1af4"
VIRTIO_CONSOLE = "0x0003"


def virtio_device_ids(guest):
    """Virtio device type ids (e.g. 0x0009 for 9p, 0x001a for virtiofs) the guest enumerated."""
    ids = sorted(guest.readings.text("virtio").split())
    if not ids and any(d.vendor == VIRTIO_VENDOR for d in pci_devices(guest)):
        raise Undecided("the guest has virtio PCI functions but enumerated no virtio devices: "
                        "its virtio_pci driver is not loaded")
    return ids


def read_lines(guest, pattern):
    """Contents of every file matching a shell glob, one stripped line each."""
    out = _run(guest, f"for f in {pattern}; do [ -f \"$f\" ] && cat \"$f\"; done; true")
    lines = (line.replace("\0", "").strip() for line in out.splitlines())
    return [line for line in lines if line]


def ninep_tags(guest):
    return _lines(guest.readings.text("ninep").replace("\0", "\n"))


def _lines(text):
    return [line.strip() for line in text.splitlines() if line.strip()]


def virtio_ports(guest):
    """{/dev node: name} of the guest's virtio-serial ports (guest agent, clipboard, ...)."""
    lines = _lines(guest.readings.text("virtio-ports"))
    ports = dict(line.split(maxsplit=1) for line in lines if " " in line and line[0] != "+")
    if "+ class" not in lines and VIRTIO_CONSOLE in virtio_device_ids(guest):
        raise Undecided("the guest has a virtio-serial device but no /sys/class/virtio-ports: "
                        "its virtio_console driver is not loaded")
    return {f"/dev/{node}": name.strip() for node, name in ports.items()}


def virtio_port_names(guest):
    return sorted(virtio_ports(guest).values())


def share_tags(guest):
    """(kind, tag) of every share the guest could mount: 9p tags it enumerated, and the virtiofs
    tags the template declares (virtiofs has no sysfs listing of its tags)."""
    tags = [("9p", tag) for tag in ninep_tags(guest)]
    return tags + [("virtiofs", fs.tag) for fs in guest.template.filesystems
                   if fs.kind == "virtiofs"]


def _mount_args(kind, tag, prefix, mode):
    """(mountpoint, fstype, options) for mounting a share tag `mode` ('ro' or 'rw')."""
    mountpoint = f"/mnt/{prefix}-{re.sub(r'[^A-Za-z0-9_-]', '_', tag)}"
    if kind == "9p":
        return mountpoint, "9p", f"trans=virtio,version=9p2000.L,{mode}"
    return mountpoint, "virtiofs", mode


def mount_share(guest, kind, tag):
    """Mount a 9p or virtiofs tag read-only and return {file name: first line of content}."""
    mountpoint, fstype, options = _mount_args(kind, tag, "vmiso", "ro")
    mounted = guest.run("mkdir -p %s && mount -t %s -o %s %s %s",
                        mountpoint, fstype, options, tag, mountpoint)
    if mounted.rc != 0:
        raise Undecided(f"mounting {kind} tag {tag!r} failed: {mounted.stderr.strip()[:200]}")
    try:
        out = _run(guest, "cd %s && for f in *; do [ -f \"$f\" ] && echo \"$f:$(head -n1 \"$f\")\";"
                          " done; true", mountpoint)
    finally:
        guest.run("umount %s", mountpoint)
    return dict(line.split(":", 1) for line in out.splitlines() if ":" in line)


def write_to_share(guest, kind, tag, name, content):
    """Mount a share read-write and write a file into it; True when the guest's write worked."""
    mountpoint, fstype, options = _mount_args(kind, tag, "vmiso-w", "rw")
    result = guest.run("mkdir -p %s && mount -t %s -o %s %s %s && "
                       "{ echo %s > %s/%s; rc=$?; umount %s; exit $rc; }",
                       mountpoint, fstype, options, tag, mountpoint, content, mountpoint, name,
                       mountpoint)
    return result.rc == 0


def virtio_port_device(guest, name):
    """The /dev node of the guest's virtio-serial port called `name`; None when it has none."""
    return next((node for node, port in sorted(virtio_ports(guest).items()) if port == name),
                None)


VDAGENT_OUT = "/tmp/vmiso-vdagent.out"


def start_clipboard_agent(guest, device, seconds, wait=True):
    """Start vmiso-probe's SPICE agent on `device` and (with `wait`) wait until it spoke with
    QEMU; a spicevmc port speaks only once a SPICE client is there."""
    _run(guest, f"rm -f {VDAGENT_OUT}; ({guest.probe_binary} vdagent %s %s > {VDAGENT_OUT} 2>&1 &)",
         device, str(seconds))
    if not wait:
        return
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        out = clipboard_agent_output(guest)
        if "vdagent ready" in out:
            return
        if "error" in out or "timeout" in out:
            break
        time.sleep(0.3)
    raise Undecided(f"the guest's clipboard agent on {device} never exchanged capabilities "
                    f"with QEMU ({clipboard_agent_output(guest).strip() or 'no output'}): the "
                    f"clipboard probe cannot decide")


def clipboard_agent_output(guest):
    return _run(guest, f"cat {VDAGENT_OUT} 2>/dev/null; true")


# The outcomes a target can have from the guest, the one that proves most first
REACH_ORDER = ("connected", "sent", "refused", "timeout", "unreachable")


def send_tokens(guest, token, targets, timeout_ms):
    """Send `token` from the guest to every (proto, address, port) at once with vmiso-probe,
    out of each NIC the guest has a default route on: which NIC's route wins is the order in
    which their leases came, and every path out of the guest counts (a user-mode NIC reaches
    what QEMU's host can).

    Returns the guest's view per target, its best over the NICs: connected, sent, timeout,
    refused, unreachable, error.
    """
    devices = routed_devices(_run(guest, "cat /proc/net/route"))
    views = [_send_tokens(guest, token, targets, timeout_ms, device)
             for device in (devices if len(devices) > 1 else [""])]
    return {target: min((view[target] for view in views), key=_reach_rank)
            for target in targets}


def routed_devices(proc_net_route):
    """The NICs a default route leaves by, from /proc/net/route, in route order."""
    rows = [line.split() for line in proc_net_route.splitlines()[1:]]
    return list(dict.fromkeys(row[0] for row in rows if len(row) > 1 and row[1] == "00000000"))


def _reach_rank(outcome):
    return REACH_ORDER.index(outcome) if outcome in REACH_ORDER else len(REACH_ORDER)


def _send_tokens(guest, token, targets, timeout_ms, device):
    specs = [f"{proto}:{address}:{port}" for proto, address, port in targets]
    bound = ("env VMISO_PROBE_DEVICE=%s ", device) if device else ("",)
    out = _run(guest, bound[0] + guest.probe_binary + " %s %s" + " %s" * len(specs),
               *bound[1:], str(timeout_ms), token, *specs)
    view = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2].isdigit():
            view[(parts[0], parts[1], int(parts[2]))] = parts[3]
    if set(view) != set(targets):
        raise Undecided(f"vmiso-probe answered for {len(view)} of {len(targets)} targets")
    return view


def dmi_identity(guest):
    """{file: value} of the SMBIOS identity fields the guest's firmware tables give it."""
    found = dict(line.split("=", 1) for line in guest.readings.text("dmi").splitlines()
                 if "=" in line)
    if "product_uuid" not in found:
        raise Undecided("the guest has no /sys/class/dmi/id/product_uuid: its DMI tables "
                        "cannot be read")
    return {k: v.strip() for k, v in found.items()}


def interface_with(guest, address):
    """The name of the guest's interface that holds `address`."""
    out = _run(guest, "ip -o -4 addr show")
    for line in out.splitlines():
        fields = line.split()
        if len(fields) > 3 and fields[3].split("/")[0] == address:
            return fields[1]
    raise Undecided(f"no interface in the guest holds {address}")


SPOOF_KINDS = ("genuine", "ip", "mac", "arp")


def send_spoofed_frames(guest, interface, token, forged_ip, destination, port):
    """Write vmiso-probe's four raw frames (genuine, forged IP, forged MAC, forged ARP)."""
    out = _run(guest, guest.probe_binary + " spoof %s %s %s %s %s", interface, token, forged_ip,
               destination, str(port))
    sent = {line.split()[1] for line in out.splitlines() if line.endswith(" sent")}
    if sent != set(SPOOF_KINDS):
        raise Undecided(f"vmiso-probe spoof did not write every frame: {out.strip()[:200]}")


def cpu_flags(guest):
    """The CPU flags the guest's kernel reports (first processor in /proc/cpuinfo)."""
    flags = set(guest.readings.text("cpu-flags").split(":", 1)[-1].split())
    if not flags:
        raise Undecided("the guest's /proc/cpuinfo lists no CPU flags")
    return flags


def kernel_release(guest):
    release = guest.readings.text("uname-r").strip()
    if not release:
        raise Undecided("uname -r printed nothing in the guest")
    return release


def kernel_build(guest):
    """(uname -v, the text of /etc/os-release) in the guest; os-release may be empty."""
    version = guest.readings.text("uname-v").strip()
    if not version:
        raise Undecided("uname -v printed nothing in the guest")
    return version, guest.readings.text("os-release")


def os_release(guest):
    """The text of the guest's /etc/os-release (empty where it has none)."""
    return guest.readings.text("os-release")


def installed_packages(guest):
    """The guest's installed packages (a packages.Listing): dpkg-query or rpm -qa, or for the
    probe guest the manifest its image was built with."""
    try:
        return packages.parse_listing(guest.readings.text("packages"))
    except packages.PackagesError as err:
        raise Undecided(f"the guest's packages: {err}") from None


def listen_once(guest, port, seconds):
    """Start a one-connection TCP listener in the guest that keeps what it receives."""
    path = f"/tmp/vmiso-listen-{port}"
    _run(guest, f"rm -f {path}; ({guest.probe_binary} listen %s %s {path} > /dev/null 2>&1 &); "
                f"for i in $(seq 50); do [ -e {path} ] && exit 0; sleep 0.1; done; exit 1",
         str(port), str(seconds))


def listener_received(guest, port):
    return _run(guest, f"cat /tmp/vmiso-listen-{port} 2>/dev/null; true")
