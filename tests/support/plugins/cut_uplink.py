"""Fault plugin for self-tests: before NET-01's active probe, the uplink station stops accepting
new connections and datagrams (the runner's own SSH session, which the uplink opened, still flows),
so the probe's positive twin cannot succeed.

    pytest suites/test_network.py -p tests.support.plugins.cut_uplink
"""

import subprocess

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    if item.name != "test_guest_cannot_reach_host_services":
        return
    lab = item.config.pluginmanager.get_plugin("vmiso-report").context["lab"]
    subprocess.run(["ip", "netns", "exec", f"{lab}-up", "iptables", "-I", "INPUT",
                    "-m", "conntrack", "--ctstate", "NEW", "-j", "DROP"], check=True)
