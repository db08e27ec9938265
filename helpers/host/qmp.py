"""QEMU's monitor through libvirt: QMP commands and `info qtree`, read-only queries only.

    qmp(domain, "query-version")["qemu"]      # {'major': 7, 'minor': 2, 'micro': 22}
    tree = hmp(domain, "info qtree")
    qtree_devices(tree)                       # {'isa-fdc', 'virtio-net-pci', ...}
    peripheral_devices(domain)                # {'tpm-crb', ...}: -device ones, on a bus or not

libvirt marks a domain queried this way as tainted (custom-monitor); throwaway guests only.
libvirt awaits QEMU's answer without a timeout (a QEMU that hangs never gives one): a query not
answered within MONITOR_TIMEOUT is Undecided.
"""

import json
import re

import libvirt
import libvirt_qemu

from helpers.local import waits
from helpers.verdict.undecided import Undecided

# libvirt waits up to 30 s for the domain's job lock; QEMU answers a query in well under a
# second, under TCG on a loaded host in a few
MONITOR_TIMEOUT = 120


def qmp(domain, command, **arguments):
    request = {"execute": command}
    if arguments:
        request["arguments"] = arguments
    try:
        reply = _monitor(domain, json.dumps(request), 0, f"QMP {command}")
    except libvirt.libvirtError as err:
        raise Undecided(f"QMP {command} failed: {err}") from None
    return json.loads(reply)["return"]


def hmp(domain, command):
    try:
        return _monitor(domain, command, libvirt_qemu.VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP,
                        f"HMP {command!r}")
    except libvirt.libvirtError as err:
        raise Undecided(f"HMP {command!r} failed: {err}") from None


def _monitor(domain, command, flags, said):
    return waits.within(lambda: libvirt_qemu.qemuMonitorCommand(domain, command, flags),
                        MONITOR_TIMEOUT, f"{said} through QEMU's monitor (libvirt)", Undecided)


def qtree_devices(tree):
    """The QEMU device types in an `info qtree` listing."""
    devices = set(re.findall(r"^\s*dev: ([\w.-]+),", tree, flags=re.M))
    if not devices:
        raise Undecided("`info qtree` listed no devices")
    return devices


# Where QEMU keeps the devices given on its command line (with an id, and without one)
PERIPHERALS = ("/machine/peripheral", "/machine/peripheral-anon")


def peripheral_devices(domain):
    """The types of the devices QEMU was given with -device, from its object tree: `info qtree`
    shows only devices on a bus, and a TPM (tpm-crb) sits on none."""
    found = set()
    for path in PERIPHERALS:
        for entry in qmp(domain, "qom-list", path=path):
            kind = re.fullmatch(r"child<([\w.-]+)>", entry.get("type", ""))
            if kind:
                found.add(kind.group(1))
    return found


def qtree_properties(tree, device_type, prop):
    """Values of property `prop` on every device of `device_type` in an `info qtree` listing."""
    values, current = [], None
    for line in tree.splitlines():
        match = re.match(r"\s*dev: ([\w.-]+),", line)
        if match:
            current = match.group(1)
        elif current == device_type:
            prop_match = re.match(rf'\s*{re.escape(prop)} = "?([^"]*)"?$', line)
            if prop_match:
                values.append(prop_match.group(1))
    return values


def qtree_pci_ids(tree):
    """{(vendor, device): QEMU device type} of every PCI function in an `info qtree` listing."""
    found, current = {}, None
    for line in tree.splitlines():
        match = re.match(r"\s*dev: ([\w.-]+),", line)
        if match:
            current = match.group(1)
            continue
        pci = re.search(r"pci id ([0-9a-f]{4}):([0-9a-f]{4})", line)
        if pci and current:
            found[(pci.group(1), pci.group(2))] = current
    return found
