"""Every path out of the guest is swept (helpers/vm/probes.py): a guest with a network NIC and a
user-mode one has a default route on each, and a target counts as reached by either."""

from types import SimpleNamespace

from helpers.vm import probes

# the probe guest's udhcpc gives each NIC's default route its interface index as metric
TWO_NICS = ("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\n"
            "eth0\t00000000\t0100D50A\t0003\t0\t0\t2\t00000000\n"
            "eth1\t00000000\t0202000A\t0003\t0\t0\t3\t00000000\n"
            "eth0\t0000D50A\t00000000\t0001\t0\t0\t0\t00FFFFFF\n"
            "eth1\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\n")
MGMT, UPLINK = ("tcp", "10.214.0.2", 16509), ("tcp", "10.213.0.2", 22)


class Guest:
    """Runs vmiso-probe as a guest with `reach[device]` would answer."""
    probe_binary = "/run/vmiso-probe"

    def __init__(self, table, reach):
        self.table, self.reach, self.commands = table, reach, []

    def run(self, command, *args):
        self.commands.append(command % args)
        if command == "cat /proc/net/route":
            return SimpleNamespace(rc=0, stdout=self.table, command=command)
        device = args[0] if command.startswith("env ") else ""
        out = "".join(f"{p} {a} {port} {self.reach[device].get((p, a, port), 'timeout')}\n"
                      for p, a, port in [MGMT, UPLINK])
        return SimpleNamespace(rc=0, stdout=out, command=command)


def test_every_nic_a_default_route_leaves_by_is_swept_and_the_best_outcome_kept():
    guest = Guest(TWO_NICS, {"eth0": {UPLINK: "connected", MGMT: "unreachable"},
                             "eth1": {UPLINK: "connected", MGMT: "connected"}})
    view = probes.send_tokens(guest, "vmiso-canary-1", [MGMT, UPLINK], 1000)
    assert view == {MGMT: "connected", UPLINK: "connected"}
    assert [c.split()[1] for c in guest.commands[1:]] == ["VMISO_PROBE_DEVICE=eth0",
                                                          "VMISO_PROBE_DEVICE=eth1"]


def test_a_guest_with_one_route_is_swept_once_as_it_routes():
    one = "\n".join(TWO_NICS.splitlines()[:2]) + "\n"
    guest = Guest(one, {"": {UPLINK: "connected"}})
    assert probes.send_tokens(guest, "t", [MGMT, UPLINK], 1000) == {MGMT: "timeout",
                                                                   UPLINK: "connected"}
    assert len(guest.commands) == 2 and not guest.commands[1].startswith("env ")
    assert probes.routed_devices(TWO_NICS.splitlines()[0]) == []
