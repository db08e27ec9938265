"""Network canaries for active reach probes: listeners on every host address of the lab and in
its management network, and the same ports on the lab's uplink station, the allowed target that
is each probe's positive twin. Real services the lab's host side runs (a libvirtd listening on
TCP, a display) are probed beside the canaries, through the guest's own view of its connections.

    canaries = Canaries(host_side, uplink_side, loopback_side, mgmt_side, lab, ports)
    sweep = canaries.host_sweep(guest)  # raises Undecided when the positive twin failed
    sweep.reached_host                  # [] when isolation holds

One sweep per guest serves every check: it carries the canaries, the host's real services, the
slirp loopback targets, the guest's own display ports and the management port scan, all sent at
once, so the probe's timeout is paid once and not once per check.
"""

import secrets
import socket
import time
from dataclasses import dataclass

from helpers.lab import netns
from helpers.lab.listeners import MANAGEMENT_PORTS, SLIRP_HOST
from helpers.verdict.undecided import Undecided
from helpers.vm.probes import send_tokens

# Services a host commonly offers: ssh, HTTP (a metadata service), VNC/SPICE, the libvirt remote
# API, IPMI, SNMP, mDNS.
TCP_PORTS = (22, 80, 5900, 16509, 16514)
UDP_PORTS = (161, 623, 5353)
DRAWN_PER_PROTOCOL = 2
DRAW_RANGE = (1024, 65535)
PROBE_TIMEOUT_MS = 2000
SETTLE_S = 1.0


@dataclass
class Sweep:
    token: str
    targets: list
    reached_host: list
    reached_uplink: list
    reached_mgmt: list
    connected_services: list  # real host listeners the guest completed a TCP handshake with
    guest_view: dict
    uplink_total: int = 0

    def record_twin(self, evidence):
        """The positive twin as evidence: the allowed uplink canaries heard this sweep (a sweep
        whose twin failed raised Undecided instead)."""
        evidence.note("positive twin: allowed uplink canaries reached",
                      f"{len(self.reached_uplink)} of {self.uplink_total}", "all of them")

    def connected(self, targets):
        return sorted(t for t in targets if self.guest_view.get(t) == "connected")


class Canaries:
    def __init__(self, host, uplink, loopback, mgmt, lab, ports):
        self.host = host
        self.uplink = uplink
        self.loopback = loopback  # the lab host's 127.0.0.1: what slirp's 10.0.2.2 leads to
        self.mgmt = mgmt
        self.lab = lab
        self.host_addresses = lab.host_addresses
        self.ports = ports
        self._host_sweeps = {}

    def services(self):
        """Real TCP listeners of the lab's host side (not canaries), per host address."""
        ours = {(a, p) for _, a, p in self.host.endpoints}
        found = set()
        for address, port in self.lab.tcp_listeners():
            for host_address in (self.host_addresses if address == "0.0.0.0" else [address]):
                if (host_address, port) not in ours:
                    found.add(("tcp", host_address, port))
        return sorted(found)

    def slirp_targets(self):
        """The host's loopback as user-mode networking offers it to the guest (NET-06)."""
        return [("tcp", SLIRP_HOST, port) for port in self.ports["tcp"]]

    def display_targets(self, guest):
        """The guest's own VNC/SPICE ports on every host address (MGT-01)."""
        ports = sorted({port for _, _, port, _ in guest.live.displays if port > 0})
        return [("tcp", address, port) for address in self.host_addresses for port in ports]

    def scan_targets(self):
        """Management services a host commonly runs, on every host address (MGT-04)."""
        return [("tcp", address, port) for address in self.host_addresses
                for port in MANAGEMENT_PORTS]

    def host_sweep(self, guest):
        """The sweep of everything known up front, made once per guest, shared by the checks."""
        if guest.name not in self._host_sweeps:
            extra = self.slirp_targets() + self.display_targets(guest) + self.scan_targets()
            self._host_sweeps[guest.name] = self.sweep(guest, extra=extra)
        return self._host_sweeps[guest.name]

    def sweep(self, guest, extra=()):
        """Send one token from the guest to every canary (host side, management network and
        uplink), to the host's real services and to `extra` targets, all at once."""
        token = f"vmiso-canary-{secrets.token_hex(8)}"
        services = self.services()
        own = self.host.endpoints + self.uplink.endpoints + self.mgmt.endpoints
        targets = own + services + [t for t in extra if t not in own and t not in services]
        guest_view = send_tokens(guest, token, targets, PROBE_TIMEOUT_MS)
        time.sleep(SETTLE_S)
        sweep = Sweep(token, targets, self.host.reached(token), self.uplink.reached(token),
                      self.mgmt.reached(token), [], guest_view, len(self.uplink.endpoints))
        sweep.connected_services = sweep.connected(services)
        missing = set(self.uplink.endpoints) - {r[:3] for r in sweep.reached_uplink}
        if missing:
            raise Undecided(
                "positive twin failed: the guest could not reach the allowed uplink target(s) "
                f"{_endpoints(missing)} (guest saw: "
                f"{', '.join(guest_view.get(e, '?') for e in sorted(missing))}); "
                "the guest's network is down or the lab is broken, so unreachable host "
                "canaries prove nothing")
        return sweep


def _endpoints(endpoints):
    return ", ".join(f"{p}/{a}:{port}" for p, a, port in sorted(endpoints))


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
