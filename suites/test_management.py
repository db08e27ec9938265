"""Risk 7, management plane: QEMU's monitor and the guest's display are not on the network."""

import pytest

from helpers.qemuproc import network_monitors


@pytest.mark.control("MGT-02")
@pytest.mark.outside
def test_qemu_monitor_is_not_on_the_network(qemu_process, evidence):
    evidence.expect_none(f"monitor/QMP endpoints on tcp/telnet/udp in QEMU pid "
                         f"{qemu_process.pid}'s command line",
                         network_monitors(qemu_process.cmdline))


@pytest.mark.control("MGT-01")
@pytest.mark.inside
def test_guest_cannot_reach_its_display_server(guest, canaries, evidence):
    ports = sorted({port for _, _, port, _ in guest.live.displays if port > 0})
    targets = [("tcp", address, port) for address in canaries.host_addresses for port in ports]
    sweep = canaries.sweep(guest, extra=targets)
    evidence.note("positive twin: allowed uplink canaries reached",
                  f"{len(sweep.reached_uplink)} of {len(canaries.uplink.endpoints)}",
                  "all of them")
    connected = [f"{a}:{p}" for proto, a, p in targets if sweep.guest_view[(proto, a, p)]
                 == "connected"]
    evidence.expect_none(f"VNC/SPICE ports {ports or 'none'} of this guest's displays, "
                         f"connected to from the guest on {', '.join(canaries.host_addresses)}",
                         connected)
