"""Define the traffic filter the hardened template names, vmiso-no-host-access, on a host: its
drop rules name every IPv4 address the host holds, and the metadata address.

    .venv/bin/python -m scripts.nwfilter qemu+ssh://root@kvm1/system
    .venv/bin/python -m scripts.nwfilter qemu:///system --keep 192.168.122.2   # the host's jump
                                                                            # address to guests
    .venv/bin/python -m scripts.nwfilter qemu:///system --print               # show, define nothing

(`make nwfilter LIBVIRT_URI=... KEEP=...` runs it.) Run it again when the host's addresses change.
"""

import argparse
import json
import sys

import libvirt

from helpers.host import libvirtconn
from helpers.host.hypervisor import HypervisorError, hypervisor_for
from helpers.hostconfig.hostfilter import METADATA_ADDRESS, NAME, no_host_access_filter
from helpers.hostconfig.netfilter import define_no_host_access


def host_addresses(hypervisor):
    """Every IPv4 address the host holds on an interface other than loopback."""
    links = json.loads(hypervisor.run("ip", "-j", "-4", "address", "show"))
    return [a["local"] for link in links if link["ifname"] != "lo"
            for a in link.get("addr_info", [])]


def main(argv=None, prog="vmiso nwfilter"):
    parser = argparse.ArgumentParser(prog=prog,
                                     description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("uri", help="libvirt URI of the host, e.g. qemu+ssh://root@kvm1/system")
    parser.add_argument("--keep", action="append", default=[], metavar="ADDR",
                        help="an address of the host guests may answer (its jump address)")
    parser.add_argument("--print", action="store_true", help="print the filter, define nothing")
    args = parser.parse_args(argv)
    try:
        hypervisor = hypervisor_for(args.uri)
        try:
            addresses = [a for a in host_addresses(hypervisor) if a not in args.keep]
        finally:
            hypervisor.close()
    except HypervisorError as err:
        sys.exit(f"vmiso: {err}")
    if args.print:
        sys.stdout.write(no_host_access_filter(addresses + [METADATA_ADDRESS]))
        return
    libvirt.registerErrorHandler(lambda *_: None, None)
    try:
        conn = libvirtconn.open_connection(args.uri)
        define_no_host_access(conn, addresses + [METADATA_ADDRESS])
        conn.close()
    except (libvirt.libvirtError, HypervisorError) as err:
        said = err.get_error_message() if isinstance(err, libvirt.libvirtError) else err
        sys.exit(f"vmiso: cannot define nwfilter {NAME} at {args.uri}: {said}; check the URI "
                 f"and that its user may manage libvirt there")
    print(f"defined nwfilter {NAME} at {args.uri}: guests reach none of "
          f"{', '.join(addresses + [METADATA_ADDRESS])} but for DHCP"
          + (f"; left reachable: {', '.join(args.keep)}" if args.keep else ""))


if __name__ == "__main__":
    main()
