"""One token from the guest to many targets at once, judged where it lands: the engine of every
active reach probe. Where the canaries listen and what proves the probe left the guest (its
positive twin) is said by a subclass: helpers/probes/network/labcanaries.py in the local lab,
helpers/probes/network/hostcanaries.py on a real host.

    sweep = canaries.host_sweep(guest)  # raises Undecided when the positive twin failed
    sweep.reached_host                  # [] when isolation holds
    sweep.record_twin(evidence)

One sweep per guest serves every check: it carries the canaries, the host's real services, the
slirp loopback targets, the guest's own display ports, the management port scan, the management
network, the metadata address and a listener in the guest's neighbour (the sibling booted beside
it, NET-05), all sent at once, so the probe's timeout is paid once and not once per check.
"""

import secrets
import time
from dataclasses import dataclass, field

from helpers.verdict.undecided import Undecided
from helpers.vm.probes import listen_once, listener_received, send_tokens

# Services a host commonly offers: ssh, HTTP (a metadata service), VNC/SPICE, the libvirt remote
# API, IPMI, SNMP, mDNS.
TCP_PORTS = (22, 80, 5900, 16509, 16514)
UDP_PORTS = (161, 623, 5353)
DRAWN_PER_PROTOCOL = 2
DRAW_RANGE = (1024, 65535)
PROBE_TIMEOUT_MS = 2000
SETTLE_S = 1.0
# Management services a port scan of the host looks for (MGT-04): ftp, ssh, telnet, HTTP(S),
# rpcbind, NFS, iSCSI, VNC, noVNC, Proxmox, cockpit, node exporter, zabbix, libvirt.
MANAGEMENT_PORTS = (21, 22, 23, 80, 111, 443, 2049, 3260, 5000, 5900, 5901, 6080, 8006, 8080,
                    8443, 9090, 9100, 10050, 16509, 16514)
# QEMU's user-mode networking (slirp) maps this guest-side address to the host's loopback (NET-06).
SLIRP_HOST = "10.0.2.2"
NEIGHBOUR_PORT = 7777  # a one-connection listener in the guest's neighbour (NET-05)
NEIGHBOUR_LISTENS_S = 60


@dataclass
class Sweep:
    token: str
    targets: list
    guest_view: dict
    reached_host: list
    reached_mgmt: list
    reached_loopback: list = field(default_factory=list)  # what slirp's 10.0.2.2 led to
    connected_services: list = field(default_factory=list)  # real host listeners handshaken
    twin: tuple = ()  # (what, observed, expected): the evidence that the probe left the guest
    frames: list = field(default_factory=list)  # frames captured at the guest's tap (real host)
    neighbour: str = ""  # the neighbour whose listener was among the targets
    neighbour_received: str = ""  # what that listener received
    neighbour_missed: str = ""  # why no listener in the guest's neighbour was among the targets

    def record_twin(self, evidence):
        evidence.note(*self.twin)

    def connected(self, targets):
        return sorted(t for t in targets if self.guest_view.get(t) == "connected")


class Canaries:
    """The sweep; subclasses hold the canaries and judge the positive twin."""

    host = loopback = None  # listeners on the host's addresses and on its 127.0.0.1
    host_addresses = ()
    ports = {}

    def __init__(self):
        self._host_sweeps = {}

    # what a subclass says
    def twin_targets(self):
        return []

    def management_targets(self):
        return []

    def metadata_targets(self):
        return []

    def services(self):
        return []

    def before_sweep(self, guest):
        pass

    def after_sweep(self, guest):
        """Stop what before_sweep started; called whatever the sweep's outcome."""

    def arrivals(self, token, guest):
        """What of the sweep reached the host's canaries and its loopback: two lists of
        (proto, address, port, peer)."""
        return self.host.reached(token), self.loopback.reached(token)

    def judge(self, sweep, guest):
        """Set sweep.twin and sweep.reached_mgmt, or raise Undecided."""
        raise NotImplementedError

    def management_twin(self):
        """(what, observed, expected): the management targets are there to be reached, or
        Undecided."""
        raise NotImplementedError

    def metadata_reached(self, sweep):
        """The metadata address's endpoints that answered the guest."""
        raise NotImplementedError

    # the engine
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
        """The sweep of everything known up front, made once per guest, shared by the checks;
        a sweep that could not decide is not sent again for each check."""
        if guest.name not in self._host_sweeps:
            extra = self.slirp_targets() + self.display_targets(guest) + self.scan_targets()
            try:
                self._host_sweeps[guest.name] = self.sweep(guest, extra=extra)
            except Undecided as err:
                self._host_sweeps[guest.name] = err
        found = self._host_sweeps[guest.name]
        if isinstance(found, Undecided):
            raise found
        return found

    def sweep(self, guest, extra=()):
        """Send one token from the guest to every canary, the twin's targets, the management
        and metadata targets, the host's real services and `extra`, all at once."""
        token = f"vmiso-canary-{secrets.token_hex(8)}"
        services = self.services()
        neighbour, missed = _listening_neighbour(guest)
        aimed = [("tcp", neighbour.address, NEIGHBOUR_PORT)] if neighbour else []
        targets = list(dict.fromkeys(
            self.host.endpoints + self.twin_targets() + self.management_targets()
            + self.metadata_targets() + services + list(extra) + aimed))
        try:
            self.before_sweep(guest)
            guest_view = send_tokens(guest, token, targets, PROBE_TIMEOUT_MS)
            time.sleep(SETTLE_S)
            host, loopback = self.arrivals(token, guest)
            sweep = Sweep(token, targets, guest_view, host, [], loopback, neighbour_missed=missed)
            sweep.connected_services = sweep.connected(services)
            if neighbour:
                _read_neighbour(sweep, neighbour)
            self.judge(sweep, guest)
            return sweep
        finally:
            self.after_sweep(guest)


def _listening_neighbour(guest):
    """(the guest's neighbour, listening on NEIGHBOUR_PORT, or None; why not): a neighbour
    that cannot listen leaves the other targets to the sweep and NET-05 undecided."""
    from helpers.vm.launch import GuestError  # deferred: the sweep's logic imports no libvirt

    neighbour = guest.neighbour
    if neighbour is None:
        return None, "the guest was booted without a neighbour"
    try:
        listen_once(neighbour, NEIGHBOUR_PORT, NEIGHBOUR_LISTENS_S)
    except (GuestError, Undecided) as err:
        return None, f"no listener could be started in {neighbour.name}: {err}"
    return neighbour, ""


def _read_neighbour(sweep, neighbour):
    from helpers.vm.launch import GuestError

    try:
        sweep.neighbour_received = listener_received(neighbour, NEIGHBOUR_PORT)
        sweep.neighbour = neighbour.name
    except (GuestError, Undecided) as err:
        sweep.neighbour_missed = f"what the listener in {neighbour.name} received could not " \
                                 f"be read: {err}"


def endpoints_text(endpoints):
    return ", ".join(f"{p}/{a}:{port}" for p, a, port in sorted(endpoints))
