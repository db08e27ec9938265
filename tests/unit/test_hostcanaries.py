"""The positive twin on a real host: what proves the guest's probes left it, and what does not."""

from types import SimpleNamespace

import pytest

from helpers.hostconfig.hostfilter import METADATA_ADDRESS
from helpers.probes.network.hostcanaries import HostCanaries
from helpers.probes.network.sweep import Sweep
from helpers.template.domxml import Domain
from helpers.verdict.undecided import Undecided

PORTS = {"tcp": [22], "udp": [161]}


def Frame(iface, direction, proto, src, sport, dst, dport, text):  # noqa: N802
    """A frame as helpers/host/canaryagent.py reports it (that module needs paramiko)."""
    return SimpleNamespace(iface=iface, direction=direction, proto=proto, src=src, sport=sport,
                           dst=dst, dport=dport, text=text)
HOST = "10.0.0.1"
GUEST = "10.0.0.50"


class FakeAgent:
    def __init__(self, capturable=True, host_reaches=("connected",), observing=True):
        self.addresses = [HOST, "127.0.0.1"]
        self.observing = {"tcp": observing, "udp": observing}
        self.frames, self.arrivals, self.captures, self.watched = [], [], {}, set()
        self.overflowed = False
        self.capturable = capturable
        self.host_reaches = host_reaches

    def watch(self, address):
        self.watched.add(address)

    def capture(self, iface, mac=None, prefix=None):
        self.captures[iface] = True if self.capturable else "Operation not permitted"
        return self.capturable

    def uncapture(self, iface):
        self.captures.pop(iface, None)

    def connect(self, address, port):
        return self.host_reaches[0]


def Arrival(proto, address, port, peer, text="-"):  # noqa: N802
    return SimpleNamespace(proto=proto, address=address, port=port, peer=peer, text=text)


def guest(tap="vnet0"):
    xml = (f"<domain><name>g</name><devices><interface type='network'><target dev='{tap}'/>"
           f"<mac address='52:54:00:AA:BB:CC'/></interface></devices></domain>")
    return SimpleNamespace(name="g", address=GUEST, live=Domain.from_string(xml))


def sent(canaries, g, targets, skip=()):
    """The guest sent every target but `skip`, as the tap saw it."""
    canaries.before_sweep(g)
    for proto, address, port in targets:
        if (proto, address, port) not in skip:
            canaries.agent.frames.append(Frame("vnet0", "in", proto, "10.0.0.50", 40000,
                                               address, port, "-"))


def judged(canaries, g, view=None):
    targets = (canaries.host.endpoints + canaries.metadata_targets()
               + canaries.management_targets() + canaries.twin_targets())
    sweep = Sweep("vmiso-canary-1", targets, view or {t: "timeout" for t in targets}, [], [])
    canaries.judge(sweep, g)
    return sweep


def test_every_probe_seen_leaving_at_the_tap_is_the_twin():
    canaries, g = HostCanaries(FakeAgent(), PORTS), guest()
    sent(canaries, g, canaries.host.endpoints + canaries.metadata_targets())
    sweep = judged(canaries, g)
    assert sweep.twin[1].startswith("4 of 4 probes captured leaving at vnet0")


def test_a_probe_that_never_left_the_guest_decides_nothing():
    canaries, g = HostCanaries(FakeAgent(), PORTS), guest()
    sent(canaries, g, canaries.host.endpoints + canaries.metadata_targets(),
         skip=[("tcp", HOST, 22)])
    with pytest.raises(Undecided, match="never left it"):
        judged(canaries, g)


def test_an_arp_request_for_the_target_counts_as_leaving():
    canaries, g = HostCanaries(FakeAgent(), PORTS), guest()
    sent(canaries, g, canaries.metadata_targets())
    canaries.agent.frames.append(Frame("vnet0", "in", "arp", "10.0.0.50", 0, HOST, 0, "-"))
    assert judged(canaries, g).twin


def test_frames_on_another_guests_tap_do_not_count():
    canaries, g = HostCanaries(FakeAgent(), PORTS), guest("vnet7")
    sent(canaries, g, canaries.host.endpoints + canaries.metadata_targets())  # on vnet0
    with pytest.raises(Undecided, match="never left it"):
        judged(canaries, g)


def test_no_capture_and_no_allowed_target_decides_nothing():
    canaries, g = HostCanaries(FakeAgent(capturable=False), PORTS), guest()
    canaries.before_sweep(g)
    with pytest.raises(Undecided, match="no positive twin.*Operation not permitted"):
        judged(canaries, g)


def test_without_a_capture_a_reached_allowed_target_is_the_twin():
    mirror = ("tcp", "10.9.0.5", 443)
    canaries, g = HostCanaries(FakeAgent(capturable=False), PORTS, allowed=[mirror]), guest()
    canaries.before_sweep(g)
    sweep = judged(canaries, g, view={mirror: "connected"})
    assert "1 of 1 allowed target(s) reached" in sweep.twin[1]
    with pytest.raises(Undecided, match="could not reach the allowed target"):
        judged(canaries, g, view={mirror: "refused"})


def test_any_frame_back_from_the_metadata_address_is_an_answer():
    canaries, g = HostCanaries(FakeAgent(), PORTS), guest()
    sent(canaries, g, canaries.host.endpoints + canaries.metadata_targets())
    canaries.agent.frames.append(Frame("vnet0", "out", "udp", METADATA_ADDRESS, 161,
                                       "10.0.0.50", 40000, "-"))
    assert canaries.metadata_reached(judged(canaries, g)) == [("udp", METADATA_ADDRESS, 161)]


def test_a_management_target_the_host_cannot_reach_decides_nothing():
    unreachable = HostCanaries(FakeAgent(host_reaches=("timeout",)), PORTS,
                               management=[("10.1.0.10", 623)])
    with pytest.raises(Undecided, match="host itself cannot reach.*10.1.0.10"):
        unreachable.management_twin()
    reachable = HostCanaries(FakeAgent(), PORTS, management=[("10.1.0.10", 623)])
    assert reachable.management_twin()[1] == "10.1.0.10:623"


def test_a_management_target_without_a_port_is_scanned_on_the_management_ports():
    canaries = HostCanaries(FakeAgent(), PORTS, management=[("10.1.0.10", None)])
    ports = {p for _, _, p in canaries.management_targets()}
    assert {22, 443, 16509} <= ports and len(ports) == 20


def test_what_the_host_received_from_the_guest_during_the_sweep_reached_it():
    canaries, g = HostCanaries(FakeAgent(), PORTS), guest()
    canaries.agent.arrivals.append(Arrival("tcp", HOST, 22, GUEST))  # before the sweep
    canaries.before_sweep(g)
    assert canaries.agent.watched == {GUEST}
    assert canaries.agent.captures == {"vnet0": True}
    canaries.agent.arrivals += [
        Arrival("udp", HOST, 161, GUEST, "vmiso-canary-0"),  # another sweep's token
        Arrival("tcp", HOST, 22, "10.0.0.99"),  # another peer
        Arrival("tcp", HOST, 2222, GUEST),  # no probe port
        Arrival("tcp", "127.0.0.1", 22, "127.0.0.1")]  # slirp's connection to the loopback
    assert canaries.arrivals("vmiso-canary-1", g) == ([], [("tcp", "127.0.0.1", 22, "127.0.0.1")])
    canaries.agent.arrivals += [Arrival("tcp", HOST, 22, GUEST),
                                Arrival("udp", HOST, 161, GUEST, "vmiso-canary-1")]
    assert canaries.arrivals("vmiso-canary-1", g)[0] == [("tcp", HOST, 22, GUEST),
                                                         ("udp", HOST, 161, GUEST)]
    canaries.after_sweep(g)
    assert canaries.agent.captures == {}


def test_a_tap_capture_is_filtered_to_the_guests_mac():
    agent = FakeAgent()
    asked = []
    agent.capture = lambda iface, mac=None, prefix=None: asked.append((iface, mac, prefix))
    HostCanaries(agent, PORTS).before_sweep(guest())
    assert asked == [("vnet0", "52:54:00:aa:bb:cc", None)]


@pytest.mark.parametrize("agent", [FakeAgent(observing="Operation not permitted"),
                                   SimpleNamespace(**{**vars(FakeAgent()), "overflowed": True})],
                         ids=["not observable", "overflowed"])
def test_arrivals_the_host_cannot_fully_see_decide_nothing(agent):
    canaries, g = HostCanaries(agent, PORTS), guest()
    canaries.agent.watch = canaries.agent.capture = lambda *a, **k: True
    canaries.agent.uncapture = lambda *a: None
    canaries._sweep_start[g.name] = (0, 0)
    with pytest.raises(Undecided, match="cannot be observed|some were dropped"):
        judged(canaries, g)
