"""Self-tests: a host whose guests are bridged to its LAN, reached by a controller over qemu+ssh://.

The host holds a Linux bridge br0 with its own address, and an uplink on br0 to a router
namespace, whose dnsmasq hands out the guests' addresses and which serves the mirror guests must
reach (the allowed target). libvirt's network `host-bridge` puts guests on br0 in bridge mode,
so libvirt has no lease to tell: vmiso watches the guest's tap for the router's DHCPACK. The
management network sits behind the host, with a BMC-like listener. The controller runs in a
namespace of its own and reaches the host only by SSH. The host defines the hardened filter for
its addresses (make nwfilter) and jumps to its guests from an address of its own.
"""

import subprocess
import sys
from dataclasses import dataclass

import libvirt
import pytest

from fixtures.lab import LIBVIRT_CACHE, STATE_DIR
from helpers.lab.lab import MGMT_ADDRESS, Lab
from helpers.probes.network.listeners import Listeners
from tests.support.expected import HOST_FAILURES
from tests.support.sshhost import GuestNetwork, SshHost, controller
from tests.support.suite import ROOT, run_suite, statuses, unlike

pytestmark = pytest.mark.slow

LAN = GuestNetwork("br0", "10.216.0.0/24", "10.216.0.2", "10.216.0.3")
ROUTER_ADDRESS = "10.216.0.1"
MIRROR = f"{ROUTER_ADDRESS}:8443"
BMC = f"{MGMT_ADDRESS}:443"
NETWORK_XML = ("<network><name>host-bridge</name><forward mode='bridge'/>"
               "<bridge name='br0'/></network>")
CONTROLS = ("NET-01", "NET-02", "NET-03", "NET-04", "NET-05", "NET-06", "MGT-01", "MGT-03",
            "MGT-04")


@dataclass
class BridgedHost:
    uri: str
    lab: Lab
    runner_prefix: list


def _ip(netns, *args):
    subprocess.run(["ip", "-n", netns, *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def bridged_host(tmp_path_factory):
    home = tmp_path_factory.mktemp("bridged")
    lab = Lab.start(STATE_DIR, LIBVIRT_CACHE / "hardened", "hardened")
    router = f"{lab.netns}-rt"
    dnsmasq = None
    try:
        subprocess.run(["ip", "netns", "add", router], check=True)
        _ip(router, "link", "set", "lo", "up")
        _ip(lab.netns, "link", "add", "br0", "type", "bridge")
        _ip(lab.netns, "address", "add", f"{LAN.host_address}/24", "dev", "br0")
        _ip(lab.netns, "link", "set", "br0", "up")
        _ip(lab.netns, "link", "add", "vmisort0", "type", "veth", "peer", "name", "eth0",
            "netns", router)
        _ip(lab.netns, "link", "set", "vmisort0", "master", "br0", "up")
        _ip(router, "address", "add", f"{ROUTER_ADDRESS}/24", "dev", "eth0")
        _ip(router, "link", "set", "eth0", "up")
        dnsmasq = subprocess.Popen(
            ["ip", "netns", "exec", router, "dnsmasq", "--keep-in-foreground", "--no-resolv",
             "--no-hosts", "--conf-file=/dev/null", "--port=0", "--interface=eth0",
             "--bind-interfaces", "--dhcp-range=10.216.0.100,10.216.0.200,255.255.255.0,1h",
             f"--dhcp-option=3,{ROUTER_ADDRESS}", f"--dhcp-leasefile={home / 'leases'}",
             f"--pid-file={home / 'dnsmasq.pid'}"], stderr=subprocess.DEVNULL)
        conn = libvirt.open(lab.uri)
        try:
            conn.networkCreateXML(NETWORK_XML)
        finally:
            conn.close()
        with controller([lab]) as (prefix, addresses), \
                SshHost.start(lab, home / "ssh", addresses[0], guests=LAN) as remote, \
                Listeners(lab.mgmt_netns, [("tcp", MGMT_ADDRESS, 443)]), \
                Listeners(router, [("tcp", ROUTER_ADDRESS, 8443)]):
            define = subprocess.run([*prefix, sys.executable, "-m", "scripts.nwfilter",
                                     remote.uri, "--keep", LAN.jump], cwd=ROOT,
                                    capture_output=True, text=True, timeout=60)
            assert define.returncode == 0, define.stderr
            yield BridgedHost(remote.uri, lab, prefix)
    finally:
        if dnsmasq is not None:
            dnsmasq.terminate()
            dnsmasq.wait(timeout=10)
        subprocess.run(["ip", "netns", "del", router], check=False)
        lab.stop()


def _run(host, report_dir):
    return run_suite(report_dir, "suites", "--template", "hardened", "--libvirt-uri", host.uri,
                     "--network", "host-bridge", "--allowed-target", MIRROR,
                     "--management-target", BMC, "--control", ",".join(CONTROLS),
                     prefix=host.runner_prefix)


def test_the_hardened_template_on_a_bridged_host_is_isolated(bridged_host, tmp_path):
    proc, report = _run(bridged_host, tmp_path)
    expected = {cid: "fail" if cid in HOST_FAILURES else "pass" for cid in CONTROLS}
    assert statuses(report) == expected, unlike(report, expected)
    assert "(direct boot) at 10.216.0." in proc.stdout  # the router's lease, seen at the tap
    net01 = next(c for c in report["controls"] if c["id"] == "NET-01")
    twin = next(e for e in net01["evidence"] if e["what"].startswith("positive twin"))
    assert "1 of 1 allowed target(s) reached" in twin["observed"]

