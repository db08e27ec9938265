"""A real host's canaries: vmiso-canary (helpers/host/canaryagent.py) seeing what of the guest's
probes the host's IP stack received past its filters, on every address the host holds and on
its loopback, for a host given by --libvirt-uri. No port is bound: a probe packet delivered to
the host is the arrival a listener would have read (a TCP SYN, or a datagram with the token),
and a packet the host's firewall dropped or rejected is never delivered.

    canaries = HostCanaries(agent, ports, allowed=[("tcp", "10.0.0.5", 443)],
                            management=[("10.1.0.10", 623)])
    sweep = canaries.host_sweep(guest)   # raises Undecided when the positive twin failed

There is no uplink station of vmiso's own on a real host, so the positive twin is twofold: the
guest's probe packets are captured at its tap device on the host (they left the guest, so
silence at the canaries is the host's filtering and not a dead network), and every allowed target
the user named (--allowed-target) is reached by the same sweep. With neither, nothing is decided.
Management targets (--management-target) are probed from the guest; their twin is that the host
itself reaches them. The metadata address is always probed: any answer is a leak.
"""

from helpers.host.canaryagent import MAX_EVENTS
from helpers.hostconfig.hostfilter import METADATA_ADDRESS
from helpers.probes.network.sweep import MANAGEMENT_PORTS, Canaries, endpoints_text
from helpers.verdict.undecided import Undecided

LOOPBACK = "127.0.0.1"


class HostCanaries(Canaries):
    def __init__(self, agent, ports, allowed=(), management=()):
        super().__init__()
        self.agent = agent
        self.ports = ports
        self.allowed = list(allowed)
        self.management = list(management)  # (address, port or None)
        self.host_addresses = sorted(a for a in set(agent.addresses)
                                     if not a.startswith("127."))
        self.host = _Observed([(proto, address, port) for address in self.host_addresses
                               for proto in ("tcp", "udp") for port in ports[proto]])
        self.loopback = _Observed([("tcp", LOOPBACK, port) for port in ports["tcp"]])
        self.management_description = ("management targets "
                                       + ", ".join(f"{a}:{p}" for _, a, p in
                                                   self.management_targets()))
        self._management_twin = None
        self._sweep_start = {}

    def twin_targets(self):
        return self.allowed

    def management_targets(self):
        return [("tcp", address, port) for address, port in self.management
                for port in ([port] if port else MANAGEMENT_PORTS)]

    def metadata_targets(self):
        return ([("tcp", METADATA_ADDRESS, port) for port in self.ports["tcp"]]
                + [("udp", METADATA_ADDRESS, port) for port in self.ports["udp"]])

    def services(self):
        """The host's TCP endpoints: one the guest completes a handshake with is a service it
        reached, whatever the agent saw (the guest's own view, beside the host's)."""
        return [e for e in self.host.endpoints if e[0] == "tcp"]

    def before_sweep(self, guest):
        if guest.address:
            self.agent.watch(guest.address)
        for tap, mac in guest.live.tap_macs.items():
            self.agent.capture(tap, mac=mac)
        self._sweep_start[guest.name] = (len(self.agent.frames), len(self.agent.arrivals))

    def after_sweep(self, guest):
        for tap in guest.live.tap_devices:
            self.agent.uncapture(tap)

    def arrivals(self, token, guest):
        new = self.agent.arrivals[self._sweep_start[guest.name][1]:]
        return (_arrived(new, self.host.endpoints, token, lambda peer: peer == guest.address),
                _arrived(new, self.loopback.endpoints, token,
                         lambda peer: peer.startswith("127.")))

    def judge(self, sweep, guest):
        guest_taps = set(guest.live.tap_devices)
        sweep.frames = [f for f in self.agent.frames[self._sweep_start[guest.name][0]:]
                        if f.iface in guest_taps]
        self._can_observe()
        sweep.reached_mgmt = [t + ("guest",) for t in self.management_targets()
                              if sweep.guest_view.get(t) == "connected"]
        captured = [t for t in guest_taps if self.agent.captures.get(t) is True]
        departed = _departed(sweep.frames)
        must_leave = self.host.endpoints + self.management_targets() + self.metadata_targets()
        stayed = [t for t in must_leave if t not in departed and t[1] not in departed]
        unreached = [t for t in self.allowed if sweep.guest_view.get(t) != "connected"]
        if not captured and not self.allowed:
            raise Undecided(
                f"no positive twin: the guest's tap device(s) {sorted(guest_taps) or 'none'} "
                f"cannot be captured on the host ({self._capture_problems(guest_taps)}) and no "
                f"allowed target was named; run vmiso as root on the host, or pass "
                f"--allowed-target ADDR:PORT (a service the guest must reach)")
        if captured and stayed:
            raise Undecided(
                f"positive twin failed: the guest's probes to {endpoints_text(stayed[:8])}"
                f"{' …' if len(stayed) > 8 else ''} never left it (no frame at "
                f"{', '.join(captured)}); the guest's network is down, so unreachable canaries "
                f"prove nothing")
        if unreached:
            raise Undecided(
                f"positive twin failed: the guest could not reach the allowed target(s) "
                f"{endpoints_text(unreached)} (guest saw: "
                f"{', '.join(sweep.guest_view.get(t, '?') for t in unreached)})")
        seen = [f"{len(must_leave)} of {len(must_leave)} probes captured leaving at "
                f"{', '.join(captured)}" if captured else "no capture at the tap"]
        seen.append(f"{len(self.allowed)} of {len(self.allowed)} allowed target(s) reached"
                    if self.allowed else "no allowed target named")
        sweep.twin = ("positive twin: the guest's probes seen leaving it at its tap device, "
                      "allowed targets reached", "; ".join(seen),
                      "every probe left the guest, every allowed target reached")

    def _can_observe(self):
        problems = [f"{proto}: {why}" for proto, why in sorted(self.agent.observing.items())
                    if why is not True]
        if problems or set(self.agent.observing) != {"tcp", "udp"}:
            raise Undecided(f"what reaches the host cannot be observed there "
                            f"({'; '.join(problems) or 'no answer'}); run vmiso as root on the "
                            f"host (vmiso-canary needs CAP_NET_RAW)")
        if self.agent.overflowed:
            raise Undecided(f"the canary agent reported more than {MAX_EVENTS} arrivals or "
                            f"frames in this run; some were dropped, so silence proves nothing")

    def _capture_problems(self, guest_taps):
        return "; ".join(f"{t}: {self.agent.captures.get(t, 'not tried')}"
                         for t in sorted(guest_taps)) or "the guest has no tap device"

    def management_twin(self):
        """The host reaches each management target (on at least one of its probed ports)."""
        if self._management_twin is None:
            results = {t: self.agent.connect(t[1], t[2]) for t in self.management_targets()}
            unreachable = [a for a, _ in self.management
                           if not any(r == "connected" for t, r in results.items()
                                      if t[1] == a)]
            if unreachable:
                self._management_twin = Undecided(
                    f"positive twin failed: the hypervisor's host itself cannot reach the "
                    f"management target(s) {', '.join(unreachable)}; name a port each serves "
                    f"(--management-target ADDR:PORT)")
            else:
                self._management_twin = (
                    "positive twin: the hypervisor's host reaches the management targets",
                    ", ".join(f"{a}:{p}" for (_, a, p), r in results.items()
                              if r == "connected"), "each target reached from the host")
        if isinstance(self._management_twin, Undecided):
            raise self._management_twin
        return self._management_twin

    def metadata_reached(self, sweep):
        """Handshakes the guest completed with the metadata address, and any frame from that
        address to the guest (a UDP reply, a SYN-ACK) captured at its tap."""
        answered = {t for t in self.metadata_targets()
                    if sweep.guest_view.get(t) == "connected"}
        answered |= {(f.proto, f.src, f.sport) for f in sweep.frames
                     if f.direction == "out" and f.src == METADATA_ADDRESS}
        return sorted(answered)


def _departed(frames):
    """What the guest sent, by (proto, address, port), and the addresses it asked ARP for (a
    probe to an address on its own link that nothing answers never gets past ARP)."""
    sent = set()
    for frame in frames:
        if frame.direction != "in":
            continue
        sent.add(frame.dst if frame.proto == "arp" else (frame.proto, frame.dst, frame.dport))
    return sent


def _arrived(arrivals, endpoints, token, from_guest):
    """The endpoints a probe of the sweep arrived at: a TCP SYN, or a packet with its token."""
    ours = set(endpoints)
    return sorted({(a.proto, a.address, a.port, a.peer) for a in arrivals
                   if (a.proto, a.address, a.port) in ours and from_guest(a.peer)
                   and (a.text == token or (a.proto == "tcp" and a.text == "-"))})


class _Observed:
    """The host's endpoints the agent observes, seen as the lab's Listeners are."""

    def __init__(self, endpoints):
        self.endpoints = endpoints
