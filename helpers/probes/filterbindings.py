"""The nwfilter bindings libvirt keeps for a running guest's NICs: which filter guards each port.

    filter_bindings(conn, domain)     # {'52:54:00:12:34:56': 'vmiso-no-host-access'}
"""

import xml.etree.ElementTree as ET

from helpers.template.domxml import Domain
from helpers.verdict.undecided import Undecided


def filter_bindings(conn, domain):
    """{MAC: the filter libvirt's binding applies on its port, '' for none} of every NIC of the
    running `domain` with a <filterref>."""
    import libvirt

    found = {}
    for iface in Domain.from_string(domain.XMLDesc(0)).interfaces:
        mac, dev = iface.find("mac"), iface.find("target")
        if not Domain.interface_filter(iface) or mac is None:
            continue
        if dev is None or not dev.get("dev"):
            found[mac.get("address")] = ""
            continue
        try:
            binding = conn.nwfilterBindingLookupByPortDev(dev.get("dev"))
            ref = ET.fromstring(binding.XMLDesc(0)).find("filterref")
            found[mac.get("address")] = "" if ref is None else ref.get("filter", "")
        except libvirt.libvirtError as err:
            if err.get_error_code() != libvirt.VIR_ERR_NO_NWFILTER_BINDING:
                raise Undecided(f"libvirt could not look up the filter binding of "
                                f"{dev.get('dev')}: {err}") from None
            found[mac.get("address")] = ""
    return found
