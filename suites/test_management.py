"""Risk 7, management plane: QEMU's monitor is reachable only through libvirt's UNIX socket."""

import pytest

from helpers.qemuproc import network_monitors


@pytest.mark.control("MGT-02")
@pytest.mark.outside
def test_qemu_monitor_is_not_on_the_network(qemu_process, evidence):
    evidence.expect_none(f"monitor/QMP endpoints on tcp/telnet/udp in QEMU pid "
                         f"{qemu_process.pid}'s command line",
                         network_monitors(qemu_process.cmdline))
