"""Risk 4, network isolation: the guest cannot open anything on the host."""

import pytest

from helpers.hostconfig import netfilter
from helpers.hostconfig.hostfilter import METADATA_ADDRESS
from helpers.plugin.options import OPT_MANAGEMENT_TARGET
from helpers.probes.network.sweep import NEIGHBOUR_PORT, SLIRP_HOST
from helpers.verdict.undecided import Undecided


@pytest.mark.control("NET-01")
@pytest.mark.outside
def test_referenced_filters_are_defined_on_the_host(template, target, evidence):
    missing = netfilter.undefined_filters(target.conn, template)
    evidence.check("referenced nwfilters defined on the host", missing or "all defined",
                   "all defined", not missing)


@pytest.mark.control("NET-01")
@pytest.mark.outside
def test_filters_hold_before_the_guest_address_is_learned(template, target, evidence):
    evidence.expect_none(f"interfaces whose nwfilter on {target.uri} lets every IPv4 packet "
                         f"through until libvirt learns the guest's address from its traffic",
                         netfilter.interfaces_open_while_learning(target.conn, template))


@pytest.mark.control("NET-01")
@pytest.mark.inside
def test_guest_cannot_reach_host_services(guest, canaries, evidence):
    sweep = canaries.host_sweep(guest)
    sweep.record_twin(evidence)
    reached = list(dict.fromkeys(f"{p}/{a}:{port}" for p, a, port, _ in sweep.reached_host))
    evidence.check(f"host canaries on {', '.join(canaries.host_addresses)} "
                   f"(tcp {canaries.ports['tcp']}, udp {canaries.ports['udp']})",
                   reached or "none reached", "none reached", not reached)
    evidence.expect_none("the host's own TCP listeners the guest connected to",
                         [f"{a}:{port}" for _, a, port in sweep.connected_services])


@pytest.mark.control("NET-02")
@pytest.mark.inside
def test_guest_cannot_reach_the_management_network(guest, canaries, evidence):
    if not canaries.management_targets():
        pytest.skip(f"no management target named: pass {OPT_MANAGEMENT_TARGET} ADDR[:PORT] "
                    f"(the BMC, the host's management address) to probe it")
    evidence.note(*canaries.management_twin())
    sweep = canaries.host_sweep(guest)
    sweep.record_twin(evidence)
    reached = list(dict.fromkeys(f"{p}/{a}:{port}" for p, a, port, _ in sweep.reached_mgmt))
    evidence.expect_none(f"{canaries.management_description} reached from the guest", reached)


@pytest.mark.control("NET-05")
@pytest.mark.inside
def test_guest_cannot_reach_a_sibling_guest(guest, sibling, canaries, evidence):
    sweep = canaries.host_sweep(guest)  # its targets include a listener in the sibling
    sweep.record_twin(evidence)
    if sweep.neighbour != sibling.name:
        raise Undecided(f"the guest's sweep aimed no token at the sibling guest {sibling.name}: "
                        f"{sweep.neighbour_missed}")
    arrived = sweep.token in sweep.neighbour_received
    evidence.check(f"token from guest {guest.address} to a listener in sibling guest "
                   f"{sibling.address}:{NEIGHBOUR_PORT}", "arrived" if arrived else
                   "never arrived", "never arrived", not arrived)


@pytest.mark.control("NET-03")
@pytest.mark.inside
def test_guest_cannot_reach_the_metadata_address(guest, canaries, evidence):
    sweep = canaries.host_sweep(guest)
    sweep.record_twin(evidence)
    reached = [f"{p}/{a}:{port}" for p, a, port in canaries.metadata_reached(sweep)]
    evidence.expect_none(f"{METADATA_ADDRESS} (tcp {canaries.ports['tcp']}, "
                         f"udp {canaries.ports['udp']}) answering the guest", reached)


@pytest.mark.control("NET-06")
@pytest.mark.inside
def test_guest_cannot_reach_host_loopback_through_user_networking(guest, canaries, evidence):
    sweep = canaries.host_sweep(guest)
    sweep.record_twin(evidence)
    reached = {f"127.0.0.1:{port}" for _, _, port, _ in sweep.reached_loopback}
    canary_ports = {port for _, _, port in canaries.loopback.endpoints}
    reached |= {f"127.0.0.1:{port} (a real service)"
                for _, _, port in sweep.connected(canaries.slirp_targets())
                if port not in canary_ports}
    evidence.expect_none(f"the host's loopback reached through {SLIRP_HOST} "
                         f"(tcp {canaries.ports['tcp']})", sorted(reached))


@pytest.mark.control("NET-04")
@pytest.mark.outside
def test_every_interface_filter_drops_spoofed_traffic(template, target, evidence):
    evidence.expect_none(f"interfaces whose nwfilter on {target.uri} lacks "
                         f"{', '.join(netfilter.ANTI_SPOOFING)}",
                         netfilter.interfaces_without_anti_spoofing(target.conn, template))


@pytest.mark.control("NET-04")
@pytest.mark.inside
def test_spoofed_frames_from_the_guest_never_arrive(guest, spoof_capture, evidence):
    arrived = spoof_capture.frames_from(guest)
    if "genuine" not in arrived:
        raise Undecided("positive twin failed: the guest's genuine frame never reached "
                        "the capture past its port, so missing spoofed frames prove nothing")
    evidence.note("positive twin: the guest's genuine broadcast frame captured past its port",
                  "arrived", "arrived")
    forged = sorted(arrived - {"genuine"})
    evidence.expect_none("frames with a forged source IP, source MAC or ARP claim captured on "
                         "the far side of the bridge", forged)
