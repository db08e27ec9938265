"""Facts about the local host's packages, for evidence beside what QEMU reports of itself."""

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import libvirt


def qemu_package():
    """'qemu-system-x86 1:7.2+dfsg-7+deb12u18', or '' where dpkg does not know it."""
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}",
                              "qemu-system-x86"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


VULNERABILITIES = Path("/sys/devices/system/cpu/vulnerabilities")


def cpu_vulnerabilities():
    """{name: state} from the kernel's CPU vulnerability report ({} where it has none)."""
    if not VULNERABILITIES.is_dir():
        return {}
    return {p.name: p.read_text().strip() for p in sorted(VULNERABILITIES.iterdir())}


def unmitigated(states):
    """The entries the kernel reports as vulnerable (mitigated and unaffected ones excluded)."""
    return sorted(f"{name}: {state}" for name, state in states.items()
                  if state.startswith("Vulnerable"))


HOST_DMI = Path("/sys/class/dmi/id")
PLACEHOLDERS = {"", "none", "not specified", "to be filled by o.e.m.", "default string",
                "00000000-0000-0000-0000-000000000000", "0"}


def host_identity(conn, local):
    """The host's identifiers a guest must not see: libvirt's host UUID, the serials and UUID of
    libvirt's host sysinfo, and (on this machine) the DMI files."""
    values = {ET.fromstring(conn.getCapabilities()).findtext("host/uuid", "")}
    try:
        sysinfo = ET.fromstring(conn.getSysinfo(0))
        values |= {e.text or "" for e in sysinfo.iter("entry")
                   if e.get("name") in ("uuid", "serial")}
    except libvirt.libvirtError:  # no host SMBIOS data: libvirt has no sysinfo to give
        pass
    if local and HOST_DMI.is_dir():
        for name in ("product_uuid", "product_serial", "board_serial", "chassis_serial"):
            try:
                values.add((HOST_DMI / name).read_text().strip())
            except OSError:
                continue
    return {v.lower() for v in values if v.strip().lower() not in PLACEHOLDERS}
