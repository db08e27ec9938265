"""Traffic filters a domain's interfaces reference, as the host defines them (libvirt nwfilter)."""

import xml.etree.ElementTree as ET

import libvirt

from helpers.hostconfig import hostfilter


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


def learns_ip_from_traffic(conn, iface, name):
    """Whether libvirt learns the guest's address on `iface` from any of its traffic: a filter
    in the tree uses $IP, the filterref gives no IP and CTRL_IP_LEARNING is "any" (the default).

    While it learns, libvirt installs basic rules that accept every IPv4 packet from the guest's
    MAC, to the host's addresses too; `dhcp` learning lets only DHCP through until the lease."""
    ref = iface.find("filterref")
    params = {} if ref is None else {p.get("name"): p.get("value", "")
                                     for p in ref.findall("parameter")}
    if "IP" in params or params.get("CTRL_IP_LEARNING", "any").lower() != "any":
        return False
    return any("$IP" in _filter_xml(conn, f) for f in included_filters(conn, name))


def _filter_xml(conn, name):
    try:
        return conn.nwfilterLookupByName(name).XMLDesc(0)
    except libvirt.libvirtError:
        return ""


def interfaces_open_while_learning(conn, dom):
    """Interfaces whose filter is not in force until libvirt has learned the guest's address."""
    return [f"interface {i + 1} filter {dom.interface_filter(iface)}: CTRL_IP_LEARNING any"
            for i, iface in enumerate(dom.interfaces)
            if iface.get("type") != "user" and dom.interface_filter(iface)
            and learns_ip_from_traffic(conn, iface, dom.interface_filter(iface))]


def dropped_destinations(conn, dom):
    """IPv4 addresses the interfaces' filters (with what they include) drop everything a guest
    sends to: a host that talks to its guests from one of them never hears their answers."""
    found = set()
    for iface in dom.interfaces:
        name = dom.interface_filter(iface)
        for included in (included_filters(conn, name) if name else ()):
            root = ET.fromstring(_filter_xml(conn, included) or "<filter/>")
            for rule in root.findall("rule"):
                ip = rule.find("ip")
                if rule.get("action") == "drop" and rule.get("direction") in ("out", "inout") \
                        and ip is not None and ip.get("dstipaddr") and len(ip.attrib) == 1:
                    found.add(ip.get("dstipaddr"))
    return found


def define_no_host_access(conn, host_addresses):
    """Define (or redefine, keeping its UUID) vmiso-no-host-access for these addresses."""
    try:
        uuid = conn.nwfilterLookupByName(hostfilter.NAME).UUIDString()
    except libvirt.libvirtError:
        uuid = None
    conn.nwfilterDefineXML(hostfilter.no_host_access_filter(host_addresses, uuid))
