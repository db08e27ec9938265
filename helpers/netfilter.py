"""Traffic filters a domain's interfaces reference, as the host defines them (libvirt nwfilter)."""

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
