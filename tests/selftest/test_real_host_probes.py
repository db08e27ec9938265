"""Self-tests: the active probes on a real host decide nothing they cannot prove, and leave nothing
on the host, whether the run ends, is interrupted or is killed.

The real host is a hardened lab's libvirtd behind an OpenSSH server (tests/support/sshhost.py),
with a BMC-like listener in its management network; the suite reaches it over qemu+ssh:// as a
controller does, or runs on it with a local URI. Only the controls with active probes run.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import libvirt
import pytest

from fixtures.lab import LIBVIRT_CACHE, STATE_DIR
from helpers.host.canaryagent import REMOTE_ROOT
from helpers.hostconfig import procnet
from helpers.hostconfig.hostfilter import METADATA_ADDRESS
from helpers.lab import netns
from helpers.lab.lab import (
    BRIDGE,
    HOST_ADDRESS,
    MGMT_ADDRESS,
    MGMT_HOST_ADDRESS,
    NETWORK,
    PREFIX,
    SUBNET,
    UPLINK_ADDRESS,
    Lab,
)
from helpers.probes.network.listeners import Listeners
from helpers.vm import runlease
from helpers.vm.target import REAL_HOST_WORKROOT
from tests.support.interrupt_agent import agent_pids
from tests.support.sshhost import JUMP_ADDRESS, SshHost, iptables
from tests.support.suite import (
    ROOT,
    RUN_TIMEOUT,
    interrupt,
    run_suite,
    start,
    statuses,
    suite,
    unlike,
)

pytestmark = pytest.mark.slow

ACTIVE = ("NET-01", "NET-02", "NET-03", "NET-06", "MGT-01", "MGT-03", "MGT-04")
BMC = f"{MGMT_ADDRESS}:443"
AGENT_GONE_S = 15  # the longest an agent may outlive its controller
OUTSIDER_TIMEOUT = 1.0
NEW_PID_NAMESPACE = ["unshare", "--pid", "--fork", "--mount-proc"]
HOLD_PLUGIN = "tests.support.plugins.hold_at_first_probe"
MIRROR_PORT = 8443  # an allowed service on the uplink station: the mirror guests must reach
CLOSED_PORT = 8444  # nothing listens there
SUITES = ("suites/test_network.py", "suites/test_management.py")


@pytest.fixture(scope="module")
def real_host(tmp_path_factory):
    home = tmp_path_factory.mktemp("real-host")
    lab = Lab.start(STATE_DIR, LIBVIRT_CACHE / "hardened", "hardened")
    try:
        with SshHost.start(lab, home / "ssh") as remote, \
                Listeners(lab.mgmt_netns, [("tcp", MGMT_ADDRESS, 443)]), \
                Listeners(lab.uplink_netns, [("tcp", UPLINK_ADDRESS, MIRROR_PORT)]):
            yield remote
    finally:
        lab.stop()


def _options(remote, *extra):
    return (*SUITES, "--template", "hardened", "--libvirt-uri", remote.uri, "--network", NETWORK,
            "--control", ",".join(ACTIVE), *extra)


def _run(remote, report_dir, *extra, prefix=None):
    return run_suite(report_dir, *_options(remote, *extra),
                     prefix=remote.runner_prefix if prefix is None else prefix)


def _inside_checks(report):
    return [check for control in report["controls"] for check in control["checks"]
            if check["vantage"] == "inside"]


def test_an_allowed_target_reached_is_the_twin_and_no_management_target_is_said(real_host,
                                                                                  tmp_path):
    proc, report = _run(real_host, tmp_path, "--allowed-target",
                        f"{UPLINK_ADDRESS}:{MIRROR_PORT}")
    found = statuses(report)
    assert found == {**{cid: "pass" for cid in ACTIVE}, "NET-02": "not_applicable"}, \
        proc.stdout[-3000:]
    net02 = next(c for c in report["controls"] if c["id"] == "NET-02")
    assert "no management target named: pass --management-target" in \
        net02["checks"][0]["message"]
    net01 = next(c for c in report["controls"] if c["id"] == "NET-01")
    twin = next(e for e in net01["evidence"] if e["what"].startswith("positive twin"))
    assert "1 of 1 allowed target(s) reached" in twin["observed"]
    assert "probes captured leaving at vnet" in twin["observed"]


def test_an_allowed_target_out_of_reach_decides_nothing(real_host, tmp_path):
    proc, report = _run(real_host, tmp_path, "--management-target", BMC,
                        "--allowed-target", f"{UPLINK_ADDRESS}:{CLOSED_PORT}")
    inside = _inside_checks(report)
    assert inside and {c["verdict"] for c in inside} == {"error"}, proc.stdout[-3000:]
    assert all("could not reach the allowed target" in c["message"] for c in inside)
    assert set(statuses(report).values()) == {"error"}


def test_probes_that_never_leave_the_guest_decide_nothing(real_host, tmp_path):
    proc, report = _run(real_host, tmp_path, "--management-target", BMC,
                        "-p", "tests.support.plugins.probes_stay_in_guest")
    inside = _inside_checks(report)
    assert inside and {c["verdict"] for c in inside} == {"error"}, proc.stdout[-3000:]
    assert all("never left it" in c["message"] for c in inside)
    assert set(statuses(report).values()) == {"error"}


def test_the_controller_may_run_on_the_host_itself(real_host, tmp_path):
    """qemu:///system?socket=… on the host: the canary agent is a child of the run there."""
    lab = real_host.lab
    on_host = ["nsenter", f"--net=/run/netns/{lab.netns}", "--"]
    proc, report = run_suite(tmp_path, *SUITES, "--template", "hardened", "--libvirt-uri",
                             lab.uri, "--network", NETWORK, "--control", ",".join(ACTIVE),
                             "--management-target", BMC, prefix=on_host)
    expected = dict.fromkeys(ACTIVE, "pass")
    assert statuses(report) == expected, unlike(report, expected)
    assert report["run"]["host_canaries"]["where"] == "this machine"


def test_a_run_exposes_nothing_to_outsiders_and_an_interrupted_one_leaves_nothing(real_host,
                                                                                  tmp_path):
    """While the agent runs, an outsider on the uplink and on the management network gets from
    each of the host's addresses, on each of the run's TCP probe ports, the answer it gets once
    the run is gone; a service (re)started on 0.0.0.0 on a probe port meanwhile binds."""
    hold = tmp_path / "held"
    process = start(*_options(real_host, "--management-target", BMC), "--report-dir",
                    str(tmp_path / "report"), "-q", "-p", HOLD_PLUGIN,
                    prefix=real_host.runner_prefix, env={"VMISO_HOLD_FILE": str(hold)})
    _wait_for(process, hold.exists, "the run's first active probe")
    agent = agent_pids()[0]
    tcp, udp = ([int(p) for p in ports.split(",")] for ports in _argv(agent)[2:4])
    during = _outsider_view(real_host.lab, tcp)
    held = {port for _, port in procnet.tcp_listeners(real_host.lab.libvirtd_pid,
                                                      include_loopback=True)}
    free = [("tcp", "0.0.0.0", p) for p in tcp if p not in held] + \
        [("udp", "0.0.0.0", p) for p in udp]
    with Listeners(real_host.lab.netns, free):
        pass  # raises OSError where the agent holds a port
    assert agent in agent_pids(), "the agent ended before the outsider's scan: it proves nothing"
    out, err = interrupt(process, signal.SIGINT)
    assert _left_on(real_host) == [], out[-3000:] + err[-3000:]
    assert during == _outsider_view(real_host.lab, tcp)
    assert "refused" in during.values(), f"no outsider reached the host at all: {during}"


def _argv(pid):
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


def _outsider_view(lab, ports):
    """{(outsider, host address, port): connected, refused or timeout} from the uplink station
    and the management network."""
    addresses = [a for a in lab.host_addresses if a != METADATA_ADDRESS]
    asked = [(ns, a, p) for ns in (lab.uplink_netns, lab.mgmt_netns) for a in addresses
             for p in ports]
    with ThreadPoolExecutor(16) as pool:
        return dict(zip(asked, pool.map(lambda key: _answer(*key), asked)))


def _answer(ns, address, port):
    try:
        netns.connect(ns, (address, port), OUTSIDER_TIMEOUT).close()
        return "connected"
    except ConnectionRefusedError:
        return "refused"
    except OSError:
        return "timeout"


def test_a_ctrl_c_at_any_step_of_the_agents_start_or_close_leaves_nothing(real_host):
    """Each remote step, interrupted the moment it answered: the folder mkdir made, the binary
    copied, the agent spawned or half closed are all gone."""
    proc = subprocess.run([*real_host.runner_prefix, sys.executable, "-m",
                           "tests.support.interrupt_agent", real_host.uri], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    steps = [json.loads(line) for line in proc.stdout.splitlines()]
    interrupted = steps[:-1]
    assert any(s["after"].startswith("run mkdir") for s in interrupted), steps
    assert any(s["after"].startswith("spawn") for s in interrupted), steps
    assert any(s["after"].startswith("run rm -rf") for s in interrupted), steps
    assert all(s["interrupted"] for s in interrupted), steps
    assert [s for s in steps if s["left"]] == []
    assert not steps[-1]["interrupted"]


def test_a_killed_controllers_leftovers_are_swept_once_its_lease_lapses_from_anywhere(
        real_host, tmp_path):
    """The controller's link to the host cut, then the controller killed: sshd never hears of
    it and the agent's stdin stays open, so only its own deadline (12 s without `alive`)
    ends it, within AGENT_GONE_S. Its guest stays until its lease lapses: two runs at once from
    two other PID namespaces (where its pid means nothing) both finish and leave it; once the
    lease has lapsed, `make sweep`'s script from a third one removes it."""
    process = _started(real_host, tmp_path / "killed")
    _wait_for_agent(process)
    time.sleep(3)
    with _link_cut(real_host):
        process.kill()
        process.communicate(timeout=60)
        killed = time.monotonic()
        while agent_pids() and time.monotonic() - killed < AGENT_GONE_S + 10:
            time.sleep(0.2)
        lasted = time.monotonic() - killed
    assert not agent_pids() and lasted <= AGENT_GONE_S, f"the agent outlived it by {lasted:.1f} s"
    left = _guests_left(real_host)
    assert any(name.startswith(PREFIX) for name in left), f"the killed run left no guest: {left}"
    neighbours = [start(*_options(real_host, "--management-target", BMC, "--control", "NET-03"),
                        "--report-dir", str(tmp_path / f"neighbour-{n}"), "-q",
                        prefix=[*NEW_PID_NAMESPACE, *real_host.runner_prefix])
                  for n in range(2)]
    for neighbour in neighbours:
        out, err = neighbour.communicate(timeout=RUN_TIMEOUT)
        assert neighbour.returncode == 0, out[-2000:] + err[-2000:]
    assert _guests_left(real_host) == left, "a run swept a run whose lease was held"
    lapsed = time.time() - runlease.LEASE_S - 60
    for lease in Path(runlease.ROOT).iterdir():
        os.utime(lease, (lapsed, lapsed))
    proc = subprocess.run([*NEW_PID_NAMESPACE, *real_host.runner_prefix, sys.executable, "-m",
                           "scripts.sweep", real_host.uri], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and "swept" in proc.stdout, proc.stdout + proc.stderr
    assert _left_on(real_host) == []


@contextlib.contextmanager
def _link_cut(remote):
    """Every packet to or from the host's sshd dropped, as a cut cable would: no FIN or RST of
    the controller's reaches it."""
    rules = [["INPUT", "-i", "lo", "-p", "tcp", flag, "22", "-j", "DROP"]
             for flag in ("--dport", "--sport")]
    for rule in rules:
        iptables(remote.lab, "-I", *rule)
    try:
        yield
    finally:
        for rule in rules:
            iptables(remote.lab, "-D", *rule, check=False)


def _started(remote, report_dir):
    return start(*_options(remote, "--management-target", BMC), "--report-dir",
                 str(report_dir), "-q", prefix=remote.runner_prefix)


def _wait_for_agent(process):
    _wait_for(process, agent_pids, "the canary agent on the host")


def _wait_for(process, ready, what, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the run ended early: {process.communicate()}")
        if ready():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what} never came")


def _guests_left(remote):
    """The domains and guest folders among what runs left on the host."""
    return [item for item in _left_on(remote)
            if item.startswith((PREFIX, str(REAL_HOST_WORKROOT)))]


def _left_on(remote):
    """What a run of vmiso left on the host: domains, guest folders, canary folders and
    agent processes."""
    conn = libvirt.open(remote.lab.uri)
    try:
        domains = [d.name() for d in conn.listAllDomains()]
    finally:
        conn.close()
    folders = [p for root in (REAL_HOST_WORKROOT, REMOTE_ROOT) if Path(root).is_dir()
               for p in Path(root).iterdir()]
    return domains + [str(p) for p in folders] + [f"pid {p}" for p in agent_pids()]



def test_a_file_missing_on_the_host_is_named(real_host):
    """Errors read over SFTP name the file, as local ones do (SFTP's own say "No such file")."""
    missing = "/sys/fs/cgroup/vmiso-missing/memory.max"
    script = ("from helpers.host.hypervisor import hypervisor_for\n"
              f"hv = hypervisor_for({real_host.uri!r})\n"
              f"try:\n    hv.read_text({missing!r})\nexcept FileNotFoundError as err:\n"
              "    print(err)\nfinally:\n    hv.close()\n")
    out = subprocess.run([*real_host.runner_prefix, sys.executable, "-c", script], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert missing in out.stdout and "root@127.0.0.1" in out.stdout, out.stdout + out.stderr


def test_make_nwfilter_defines_the_filter_for_the_hosts_addresses(real_host):
    """`make nwfilter` on the host, over SSH, the jump address kept."""
    define = subprocess.run([*real_host.runner_prefix, sys.executable, "-m", "scripts.nwfilter",
                             real_host.uri, "--keep", JUMP_ADDRESS], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert define.returncode == 0, define.stderr
    assert f"left reachable: {JUMP_ADDRESS}" in define.stdout
    conn = libvirt.open(real_host.lab.uri)
    try:
        xml = conn.nwfilterLookupByName("vmiso-no-host-access").XMLDesc(0)
    finally:
        conn.close()
    for address in (HOST_ADDRESS, MGMT_HOST_ADDRESS, "169.254.169.254"):
        assert f"dstipaddr='{address}'" in xml
    assert JUMP_ADDRESS not in xml
    # that it isolates: the stock and bridged hosts run the suite under it (test_stock_host.py)


def test_a_host_that_reaches_guests_from_a_filtered_address_is_told_the_fix(real_host, tmp_path):
    """The route to the guest network back to the bridge address, which the filter drops."""
    route = ["ip", "-n", real_host.lab.netns, "route", "replace", str(SUBNET), "dev", BRIDGE,
             "proto", "kernel", "scope", "link", "src"]
    subprocess.run([*route, HOST_ADDRESS], check=True)
    try:
        proc = suite(*_options(real_host, "--control", "NET-03"), "--report-dir",
                     str(tmp_path), "-q", prefix=real_host.runner_prefix, timeout=300)
    finally:
        subprocess.run([*route, JUMP_ADDRESS], check=True)
    assert proc.returncode == 3, proc.stdout[-2000:]
    assert f"from {HOST_ADDRESS} (`ip route get" in proc.stdout + proc.stderr
    assert "vmiso nwfilter URI --keep JUMP" in proc.stdout + proc.stderr
    assert _left_on(real_host) == []


def test_a_spice_clipboard_reaches_the_guest_through_the_hosts_sshd(real_host, tmp_path):
    """virt-manager's default display: SPICE with its vdagent channel, driven by spice-gtk."""
    template = tmp_path / "spice.xml"
    template.write_text((ROOT / "templates/hardened.xml").read_text().replace(
        "  </devices>", "    <graphics type='spice' autoport='yes' listen='127.0.0.1'/>\n"
        "    <channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/>"
        "</channel>\n  </devices>", 1))
    proc, report = run_suite(tmp_path / "report", "suites/test_shares.py", "--template",
                             str(template), "--libvirt-uri", real_host.uri, "--network", NETWORK,
                             "--control", "SHR-02", prefix=real_host.runner_prefix)
    shr02 = next(c for c in report["controls"] if c["id"] == "SHR-02")
    inside = next(c for c in shr02["checks"] if "clipboard_canary" in c["check"])
    assert inside["verdict"] == "fail", proc.stdout[-3000:]
    assert "clipboard canary put on SPICE 127.0.0.1:" in inside["message"]
    assert "observed arrived" in inside["message"]


def test_a_firewall_that_lets_guests_reach_the_hosts_sshd_fails(real_host, tmp_path):
    """Without its answers-only rule, the host's jump address serves guests like anyone."""
    rule = ["INPUT", "-d", JUMP_ADDRESS, "-m", "conntrack", "!", "--ctstate",
            "ESTABLISHED,RELATED", "-j", "DROP"]
    iptables = ["ip", "netns", "exec", real_host.lab.netns, "iptables", "-w"]
    subprocess.run([*iptables, "-D", *rule], check=True)
    try:
        proc, report = _run(real_host, tmp_path, "--management-target", BMC)
    finally:
        subprocess.run([*iptables, "-I", *rule], check=True)
    found = statuses(report)
    assert {cid for cid, status in found.items() if status == "fail"} == \
        {"NET-01", "MGT-03", "MGT-04"}, proc.stdout[-3000:]
    assert f"{JUMP_ADDRESS}:22" in proc.stdout  # sshd, reached from the guest
