"""The local lab's canaries: listeners on every host address of the lab (the metadata address
among them) and in its management network, and the same ports on the lab's uplink station, the
allowed target that is each probe's positive twin. Real services the lab's host side runs (a
libvirtd listening on TCP, a display) are probed beside the canaries, through the guest's own
view of its connections. The sweep itself is helpers/probes/network/sweep.py.

    canaries = LabCanaries(host_side, uplink_side, loopback_side, mgmt_side, lab, ports)
    sweep = canaries.host_sweep(guest)  # raises Undecided when the positive twin failed
    sweep.reached_host                  # [] when isolation holds
"""

import secrets
import socket
import time

from helpers.hostconfig.hostfilter import METADATA_ADDRESS
from helpers.lab import netns
from helpers.lab.lab import MGMT_ADDRESS
from helpers.probes.network.sweep import Canaries, endpoints_text
from helpers.verdict.undecided import Undecided


class LabCanaries(Canaries):
    def __init__(self, host, uplink, loopback, mgmt, lab, ports):
        super().__init__()
        self.host = host
        self.uplink = uplink
        self.loopback = loopback  # the lab host's 127.0.0.1: what slirp's 10.0.2.2 leads to
        self.mgmt = mgmt
        self.lab = lab
        self.host_addresses = lab.host_addresses
        self.ports = ports
        self.management_description = f"management network canaries on {MGMT_ADDRESS}"

    def twin_targets(self):
        return self.uplink.endpoints

    def management_targets(self):
        return self.mgmt.endpoints

    def services(self):
        """Real TCP listeners of the lab's host side (not canaries), per host address."""
        ours = {(a, p) for _, a, p in self.host.endpoints}
        found = set()
        for address, port in self.lab.tcp_listeners():
            for host_address in (self.host_addresses if address == "0.0.0.0" else [address]):
                if (host_address, port) not in ours:
                    found.add(("tcp", host_address, port))
        return sorted(found)

    def judge(self, sweep, guest):
        sweep.reached_mgmt = self.mgmt.reached(sweep.token)
        reached = {r[:3] for r in self.uplink.reached(sweep.token)}
        missing = set(self.uplink.endpoints) - reached
        if missing:
            raise Undecided(
                "positive twin failed: the guest could not reach the allowed uplink target(s) "
                f"{endpoints_text(missing)} (guest saw: "
                f"{', '.join(sweep.guest_view.get(e, '?') for e in sorted(missing))}); "
                "the guest's network is down or the lab is broken, so unreachable host "
                "canaries prove nothing")
        sweep.twin = ("positive twin: allowed uplink canaries reached",
                      f"{len(reached)} of {len(self.uplink.endpoints)}", "all of them")

    def management_twin(self):
        return ("positive twin: the management canaries heard the host side's self-test",
                "heard", "heard")

    def metadata_reached(self, sweep):
        if METADATA_ADDRESS not in self.host_addresses:
            raise Undecided(f"the lab holds no {METADATA_ADDRESS} canary: the metadata probe "
                            f"cannot decide")
        return list(dict.fromkeys(r[:3] for r in sweep.reached_host if r[1] == METADATA_ADDRESS))


def prove_listening(listeners, from_netns):
    """Send a token to every listener from `from_netns`: a canary that cannot hear its own
    network would make every "unreachable" meaningless."""
    token = f"vmiso-selftest-{secrets.token_hex(6)}"
    for proto, address, port in listeners.endpoints:
        if proto == "tcp":
            with netns.connect(from_netns, (address, port), timeout=5) as conn:
                conn.sendall(token.encode())
        else:
            with netns.bound_socket(from_netns, socket.AF_INET, socket.SOCK_DGRAM,
                                    ("0.0.0.0", 0)) as sock:
                sock.sendto(token.encode(), (address, port))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if len(listeners.reached(token)) == len(listeners.endpoints):
            return
        time.sleep(0.05)
    raise Undecided(f"canaries in {listeners.netns} did not hear their own self-test from "
                     f"{from_netns}: {len(listeners.reached(token))} of "
                     f"{len(listeners.endpoints)} answered")
