"""Self-tests: a host as Debian installs it, reached by a controller over qemu+ssh:// as
docs/real-hosts.md says, taken from its stock state to isolated one step at a time, the last step
by the network hook that page has the operator install.

The host is a lab on the `system` host profile (this machine's stock /etc/libvirt, so polkit's
0777 socket and QEMU as libvirt-qemu), running libvirt's stock NAT network `default` (virbr0,
192.168.122.0/24, `<forward/>` with no dev), with a management network behind another link
holding a BMC-like listener, and sshd on a link of its own to the controller, which runs in a
namespace of its own with no route to the guest network. Its jump address is a /32 outside the
NAT network's DHCP range, which covers the whole subnet.

No polkitd runs here, so the host's libvirtd runs with auth_unix_rw "none" on its 0777 socket:
DEV-04 fails on it, truly (the polkit judgement is proven by test_system_profile.py).
"""

import re
import subprocess
import sys
from dataclasses import dataclass

import libvirt
import pytest

from fixtures.lab import LIBVIRT_CACHE, STATE_DIR
from helpers.lab.lab import MGMT_ADDRESS, MGMT_SUBNET, Lab
from helpers.probes.network.listeners import Listeners
from tests.support.expected import HOST_FAILURES
from tests.support.sshhost import GuestNetwork, SshHost, controller
from tests.support.suite import ROOT, run_suite, statuses, suite, unlike

pytestmark = pytest.mark.slow

STOCK_NETWORK = "/usr/share/libvirt/networks/default.xml"
GUESTS = GuestNetwork("virbr0", "192.168.122.0/24", "192.168.122.1", "10.255.122.2")
BMC = f"{MGMT_ADDRESS}:443"
CONTROLS = ("NET-01", "NET-02", "NET-03", "NET-04", "NET-05", "NET-06", "MGT-01", "MGT-03",
            "MGT-04", "DEV-04", "ESC-01", "ESC-02")
FORWARD_TO_MGMT = ["FORWARD", "-i", "virbr0", "-d", str(MGMT_SUBNET), "-j", "DROP"]


@dataclass
class StockHost:
    uri: str
    lab: Lab
    runner_prefix: list  # the controller, in a namespace of its own


@pytest.fixture(scope="module")
def stock_host(tmp_path_factory):
    lab = Lab.start(STATE_DIR, LIBVIRT_CACHE / "system", "system")
    try:
        conn = libvirt.open(lab.uri)
        try:
            conn.networkCreateXML(open(STOCK_NETWORK).read())
            conn.nwfilterLookupByName("vmiso-no-host-access").undefine()  # the lab's own
        finally:
            conn.close()
        with controller([lab]) as (prefix, addresses), \
                SshHost.start(lab, tmp_path_factory.mktemp("stock") / "ssh", addresses[0],
                              guests=GUESTS) as remote, \
                Listeners(lab.mgmt_netns, [("tcp", MGMT_ADDRESS, 443)]):
            yield StockHost(remote.uri, lab, prefix)
    finally:
        lab.stop()


def _options(remote, controls=CONTROLS):
    return ("suites", "--template", "hardened", "--libvirt-uri", remote.uri, "--network",
            "default", "--management-target", BMC, "--control", ",".join(controls))


def test_1_the_hardened_templates_filter_is_not_on_a_stock_host(stock_host, tmp_path):
    proc = suite(*_options(stock_host), "--report-dir", str(tmp_path), "-q",
                 prefix=stock_host.runner_prefix, timeout=300)
    said = proc.stdout + proc.stderr
    assert proc.returncode == 3, said[-2000:]
    assert "vmiso-no-host-access" in said and "vmiso nwfilter" in said, said[-2000:]


def test_2_stock_nat_carries_guests_to_the_management_network(stock_host, tmp_path):
    define = subprocess.run([*stock_host.runner_prefix, sys.executable, "-m", "scripts.nwfilter",
                             stock_host.uri, "--keep", GUESTS.jump], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert define.returncode == 0, define.stderr
    proc, report = run_suite(tmp_path, *_options(stock_host), prefix=stock_host.runner_prefix)
    found = statuses(report)
    expected = {cid: "fail" if cid in {"NET-02", "DEV-04"} | HOST_FAILURES else "pass"
                for cid in CONTROLS}
    assert found == expected, unlike(report, expected)
    assert f"management targets {BMC} reached from the guest: tcp/{BMC}" in proc.stdout


def network_hook(management):
    """The network hook docs/real-hosts.md has the operator install, its management network
    set to `management` (the variables at its top are the host's own)."""
    page = (ROOT / "docs" / "real-hosts.md").read_text()
    script = re.search(r"cat > /etc/libvirt/hooks/network <<'END'\n(.*?)\nEND\n", page,
                       re.S).group(1)
    assert "MGMT=10.0.0.0/24" in script, "the page's hook no longer sets MGMT as this test reads"
    return script.replace("MGMT=10.0.0.0/24", f"MGMT={management}")


def test_3_the_pages_network_hook_makes_the_stock_host_pass(stock_host, tmp_path):
    """The hook the page installs, run as libvirt runs it when `default` starts, twice (a
    restart of the network): NET-02 passes, and no rule is added twice."""
    hook = ["ip", "netns", "exec", stock_host.lab.netns, "sh", "-s", "default", "started",
            "begin", "-"]
    iptables = ["ip", "netns", "exec", stock_host.lab.netns, "iptables", "-w"]
    for _ in range(2):
        subprocess.run(hook, input=network_hook(MGMT_SUBNET), text=True, check=True)
    try:
        rules = subprocess.run([*iptables, "-S", "FORWARD"], capture_output=True, text=True,
                               check=True).stdout
        assert rules.count(f"-d {MGMT_SUBNET}") == 1, rules
        proc, report = run_suite(tmp_path, *_options(stock_host, ["NET-01", "NET-02"]),
                                 prefix=stock_host.runner_prefix)
    finally:
        subprocess.run([*iptables, "-D", *FORWARD_TO_MGMT], check=True)
    # the other controls passed in the run before; only NET-02 changes
    assert statuses(report) == {"NET-01": "pass", "NET-02": "pass"}, proc.stdout[-3000:]

