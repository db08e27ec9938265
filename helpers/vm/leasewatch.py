"""The address a guest gets from a DHCP server libvirt does not run: a network in bridge mode
(`<forward mode='bridge'/>`, the host's br0 to the LAN), where the LAN's server answers.

    if not libvirt_serves_dhcp(target.conn, target.network):
        watch = LeaseWatch.start(target, guest_name)   # before the domain starts
        domain = target.conn.createXML(xml, 0)
        watch.follow(domain)                           # capture its tap devices
        watch.address(mac)                             # None until a DHCPACK was seen
        watch.close()

vmiso-canary (helpers/host/canaryagent.py), with no probe port, captures the guest's tap devices
on the host (the guest's own MAC only) from the moment libvirt made them and reports each
DHCPACK sent to the guest.
"""

import xml.etree.ElementTree as ET

import libvirt

from helpers.host import canaryagent
from helpers.host.canaryagent import CanaryAgent
from helpers.template.domxml import Domain


def libvirt_serves_dhcp(conn, network):
    """Whether libvirt's own dnsmasq hands out the network's addresses (its leases are then
    libvirt's to tell)."""
    try:
        root = ET.fromstring(conn.networkLookupByName(network).XMLDesc(0))
    except libvirt.libvirtError:
        return True  # libvirt names the missing network itself when the guest starts
    return root.find("ip/dhcp") is not None


class LeaseWatch:
    def __init__(self, agent):
        self.agent = agent

    @classmethod
    def start(cls, target, name):
        return cls(CanaryAgent.start(target.hypervisor, canaryagent.build(),
                                     f"{target.run_id}-{name.rsplit('-', 1)[-1]}", [], []))

    def close(self):
        self.agent.close()

    def follow(self, domain):
        for tap, mac in Domain.from_string(domain.XMLDesc(0)).tap_macs.items():
            self.agent.capture(tap, mac=mac)

    def address(self, mac):
        return self.agent.leases.get(mac.lower())
