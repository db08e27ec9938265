"""How the hypervisor's host reaches a guest on a real host, and whether the guest can answer.

    problem = unanswerable_source(target, template, "192.168.122.50")
    # None, or one line: the host talks to the guest from an address its filter drops, and how
    # to give the host an address of its own for it

vmiso reaches a guest on a real host through the host's sshd, from the address the host's route
to the guest uses as its source. A template whose filter drops all guest traffic to the host's
bridge address (as vmiso-no-host-access does) leaves that path closed unless the host has an
address of its own on the guest network, used as that route's source, that the filter leaves
out and a stateful rule guards.
"""

import json

from helpers.host.errors import HypervisorError
from helpers.hostconfig import netfilter


def route_source(hypervisor, address):
    """The source address (and device) of the host's route to `address`, or (None, None)."""
    try:
        routes = json.loads(hypervisor.run("ip", "-j", "route", "get", address))
    except (HypervisorError, ValueError):
        return None, None
    route = routes[0] if routes else {}
    return route.get("prefsrc"), route.get("dev")


def unanswerable_source(target, template, address):
    source, device = route_source(target.hypervisor, address)
    if source is None or source not in netfilter.dropped_destinations(target.conn, template):
        return None
    return (f"the host reaches guest {address} from {source} (`ip route get {address}`), an "
            f"address the guest's traffic filter drops, so the guest can never answer: give the "
            f"host an address of its own on {device} that guests may answer and make it the "
            f"route's source (ip address add JUMP/32 dev {device}; ip route replace "
            f"<guest network> dev {device} src JUMP), admit only answers to it (iptables -I "
            f"INPUT -d JUMP -m conntrack ! --ctstate ESTABLISHED,RELATED -j DROP) and leave it "
            f"out of the filter (vmiso nwfilter URI --keep JUMP)")
