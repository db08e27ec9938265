"""The traffic filter the hardened template names, `vmiso-no-host-access`, for a host's own
addresses: from the guest, only DHCP may reach the host, and libvirt's clean-traffic drops MAC,
IP and ARP spoofing (NET-04).

    xml = no_host_access_filter(["192.168.122.1", "169.254.169.254"])
    netfilter.define_no_host_access(conn, addresses)   # make nwfilter (scripts/nwfilter.py)

nwfilters/vmiso-no-host-access.xml is this filter for libvirt's stock `default` network.

The host rules come first (negative priorities, ahead of clean-traffic's IPv4 accept). They are
stateless ebtables rules, so nothing a guest sends (any source port, any protocol) can open a
path to a host address; a host that must reach its guests does so from an address of its own
that the filter leaves out (docs/real-hosts.md, step 4).
"""

from xml.sax.saxutils import quoteattr

NAME = "vmiso-no-host-access"
# The cloud metadata service's address: a guest must not reach it (NET-02), on any host.
METADATA_ADDRESS = "169.254.169.254"


def no_host_access_filter(host_addresses, uuid=None):
    """The filter's XML; `uuid` that of the filter it replaces (libvirt keeps a filter's UUID)."""
    rules = [f"  <uuid>{uuid}</uuid>"] if uuid else []
    rules.append("  <filterref filter='clean-traffic'/>")
    for addr in host_addresses:
        rules.append(f"""  <rule action='accept' direction='out' priority='-960'>
    <ip srcmacaddr='$MAC' protocol='udp' dstipaddr={quoteattr(addr)} srcportstart='68'
        dstportstart='67'/>
  </rule>
  <rule action='drop' direction='out' priority='-950'>
    <ip dstipaddr={quoteattr(addr)}/>
  </rule>""")
    rules.append("""  <rule action='drop' direction='out' priority='-940'>
    <ipv6/>
  </rule>""")
    body = "\n".join(rules)
    return f"<filter name='{NAME}' chain='root'>\n{body}\n</filter>\n"

