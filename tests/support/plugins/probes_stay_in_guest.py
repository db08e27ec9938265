"""Fault plugin for self-tests on a real host: before the first active probe, the guest gets
reject routes to every address the probes aim at (the host's, the management targets', the
metadata address) but the one its SSH session comes from, so its probes fail inside it and never
reach its tap device while the session still flows. Silence at the canaries then proves nothing.

    pytest suites/test_network.py -p tests.support.plugins.probes_stay_in_guest
"""

import pytest

from helpers.hostconfig.hostfilter import METADATA_ADDRESS

done = pytest.StashKey[set]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    canaries = item.funcargs.get("canaries")
    guest = item.funcargs.get("guest")
    if canaries is None or guest is None:
        return
    routed = item.config.stash.setdefault(done, set())
    if guest.name in routed:
        return
    routed.add(guest.name)
    addresses = {*canaries.host_addresses, METADATA_ADDRESS,
                 *(a for _, a, _ in canaries.management_targets())}
    session_peer = guest.run("echo $SSH_CONNECTION").stdout.split()[:1]
    for address in sorted(addresses - set(session_peer)):
        guest.run("route add -host %s reject", address)
