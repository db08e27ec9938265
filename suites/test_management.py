"""Risk 7, management plane: QEMU's monitor, the guest's display, libvirt's remote API and the
host's other management services are out of the guest's reach."""

import pytest

from helpers.probes.management.displays import displays
from helpers.probes.network.sweep import MANAGEMENT_PORTS
from helpers.probes.qemuproc import network_monitors
from helpers.template import rules

LIBVIRT_PORTS = (16509, 16514)
# qemu.conf keys a check compares with one value: (key, libvirt's default when unset, required).
MIGRATION_TLS = ("migrate_tls_force", "0", "1")


@pytest.mark.control("MGT-02")
@pytest.mark.outside
def test_qemu_monitor_is_not_on_the_network(qemu_process, evidence):
    evidence.expect_none(f"monitor/QMP endpoints on tcp/telnet/udp in QEMU pid "
                         f"{qemu_process.pid}'s command line",
                         network_monitors(qemu_process.cmdline))


@pytest.mark.control("MGT-01")
@pytest.mark.inside
def test_guest_cannot_reach_its_display_server(guest, canaries, evidence):
    targets = canaries.display_targets(guest)
    sweep = canaries.host_sweep(guest)
    sweep.record_twin(evidence)
    connected = [f"{a}:{p}" for _, a, p in sweep.connected(targets)]
    ports = sorted({p for _, _, p in targets})
    evidence.expect_none(f"VNC/SPICE ports {ports or 'none'} of this guest's displays, "
                         f"connected to from the guest on {', '.join(canaries.host_addresses)}",
                         connected)


@pytest.mark.control("MGT-03")
@pytest.mark.outside
def test_libvirt_remote_api_requires_authentication(libvirtd_config, evidence):
    evidence.expect_none(f"libvirt remote API listeners of {libvirtd_config.source} without "
                         f"authentication or client verification",
                         libvirtd_config.open_remote_listeners)


@pytest.mark.control("MGT-03")
@pytest.mark.inside
def test_guest_cannot_reach_the_libvirt_remote_api(guest, canaries, evidence):
    sweep = canaries.host_sweep(guest)
    sweep.record_twin(evidence)
    found = list(dict.fromkeys(f"{a}:{port}" for _, a, port, _ in sweep.reached_host
                               if port in LIBVIRT_PORTS))
    found += [f"{a}:{port} (libvirtd)" for _, a, port in sweep.connected_services
              if port in LIBVIRT_PORTS]
    evidence.expect_none(f"ports {LIBVIRT_PORTS} on {', '.join(canaries.host_addresses)} "
                         f"reached from the guest", found)


@pytest.mark.control("MGT-04")
@pytest.mark.inside
def test_guest_port_scan_finds_no_management_service(guest, canaries, evidence):
    scan = canaries.scan_targets()
    sweep = canaries.host_sweep(guest)
    sweep.record_twin(evidence)
    found = {f"{a}:{p}" for _, a, p in sweep.connected(scan) + sweep.connected_services}
    found |= {f"{a}:{p}" for proto, a, p, _ in sweep.reached_host if proto == "tcp"}
    evidence.expect_none(f"TCP ports open on the host's addresses (scan of "
                         f"{len(MANAGEMENT_PORTS)} management ports, the canaries and every "
                         f"port the host listens on)", sorted(found))


@pytest.mark.control("MGT-01")
@pytest.mark.outside
def test_running_domain_displays_are_not_exposed(guest, evidence):
    evidence.expect_none("libvirt live XML (the host's defaults filled in): displays on a "
                         "non-loopback address", rules.exposed_display(guest.live))


@pytest.mark.control("MGT-05")
@pytest.mark.outside
def test_migration_is_refused_without_tls(qemu_conf, evidence):
    key, default, required = MIGRATION_TLS
    force = qemu_conf.settings.get(key, default)
    evidence.check(f"{key} in {qemu_conf.path}", force,
                   f"{required}: libvirt refuses a migration that does not run over TLS (guest "
                   "memory crosses the network)", force == required)


@pytest.mark.control("MGT-05")
@pytest.mark.outside
def test_displays_beyond_loopback_speak_only_tls(qemu_process, evidence):
    served = displays(qemu_process.cmdline)
    evidence.note(f"VNC/SPICE displays of QEMU pid {qemu_process.pid} (-vnc, -spice)",
                  [str(d) for d in served], "each on loopback or a UNIX socket, or TLS alone")
    evidence.expect_none("displays a network peer can watch and type into in the clear",
                         [str(d) for d in served if d.in_clear_beyond_loopback])
