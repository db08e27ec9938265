"""The host's own identifiers, which a guest must not see (SHR-04): libvirt's host UUID, the
serials and UUID of libvirt's host sysinfo, and the host's DMI files.

    host_identity(target.conn, target.hypervisor)   # {'4c4c4544-0042-...', 'cz12345'}
"""

import xml.etree.ElementTree as ET
from pathlib import PurePosixPath

import libvirt

HOST_DMI = PurePosixPath("/sys/class/dmi/id")
PLACEHOLDERS = {"", "none", "not specified", "to be filled by o.e.m.", "default string",
                "00000000-0000-0000-0000-000000000000", "0"}


def host_identity(conn, hypervisor):
    """The identifiers, lowercased, placeholders ("To be filled by O.E.M.") left out."""
    values = {ET.fromstring(conn.getCapabilities()).findtext("host/uuid", "")}
    try:
        sysinfo = ET.fromstring(conn.getSysinfo(0))
        values |= {e.text or "" for e in sysinfo.iter("entry")
                   if e.get("name") in ("uuid", "serial")}
    except libvirt.libvirtError:  # no host SMBIOS data: libvirt has no sysinfo to give
        pass
    for name in ("product_uuid", "product_serial", "board_serial", "chassis_serial"):
        try:
            values.add(hypervisor.read_text(HOST_DMI / name).strip())
        except OSError:  # absent, or readable by root alone
            continue
    return {v.lower() for v in values if v.strip().lower() not in PLACEHOLDERS}
