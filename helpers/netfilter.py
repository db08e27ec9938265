"""Traffic filters a domain's interfaces reference, as the host defines them (libvirt nwfilter)."""

import xml.etree.ElementTree as ET

import libvirt


def undefined_filters(conn, dom):
    """Filter names the interfaces reference that the host does not define."""
    missing = []
    for iface in dom.interfaces:
        name = dom.interface_filter(iface)
        if not name:
            continue
        try:
            conn.nwfilterLookupByName(name)
        except libvirt.libvirtError:
            missing.append(name)
    return missing


ANTI_SPOOFING = ("no-mac-spoofing", "no-ip-spoofing", "no-arp-spoofing")


def included_filters(conn, name, seen=None):
    """`name` and every filter it pulls in through <filterref>, as the host defines them."""
    seen = set() if seen is None else seen
    if name in seen:
        return seen
    seen.add(name)
    try:
        root = ET.fromstring(conn.nwfilterLookupByName(name).XMLDesc(0))
    except libvirt.libvirtError:
        return seen
    for ref in root.iter("filterref"):
        included_filters(conn, ref.get("filter", ""), seen)
    return seen


def interfaces_without_anti_spoofing(conn, dom):
    """Interfaces whose filter (with what it includes) lacks MAC, IP or ARP anti-spoofing."""
    found = []
    for i, iface in enumerate(dom.interfaces):
        if iface.get("type") == "user":
            continue  # slirp has no bridge port to filter; NET-06 judges it
        name = dom.interface_filter(iface)
        missing = [f for f in ANTI_SPOOFING
                   if not name or f not in included_filters(conn, name)]
        if missing:
            found.append(f"interface {i + 1} filter {name or '(none)'} lacks "
                         f"{', '.join(missing)}")
    return found
