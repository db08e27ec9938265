"""How `make test` shares the tests out among pytest-xdist workers (`--dist loadscope`, with the
work units below; tests/conftest.py hands them to xdist).

    work_unit("tests/selftest/test_gate.py::test_fail_on[any]")     # 'tests/selftest/test_gate.py'
    work_unit("tests/selftest/test_remote_host.py::test_x[leaky]")  # 'this machine as a host'

A module's tests stay together on one worker, which builds the module's fixtures (its runs)
once. The modules that start an SshHost (tests/support/sshhost.py) make this machine a host of
theirs: each takes its /var/tmp/vmiso back to what it was, and makes and removes /run/sshd.
They run one after another, as one unit.
"""

from pathlib import PurePosixPath

SHARED_HOST = "this machine as a host"
SHARED_HOST_MODULES = frozenset({
    "test_bridged_host", "test_distributions", "test_host_kernel", "test_iommu",
    "test_many_hosts", "test_nightly", "test_real_host_probes", "test_remote_host",
    "test_stock_host"})


def work_unit(nodeid):
    """The unit of work a test belongs to: its module, or SHARED_HOST."""
    module = nodeid.split("::", 1)[0]
    return SHARED_HOST if PurePosixPath(module).stem in SHARED_HOST_MODULES else module


def scheduler(config, log):
    """xdist's loadscope scheduling over work_unit's units (xdist's own loadgroup cannot be
    used: it marks a group in the test's node id, which pytest 9 no longer lets a plugin set)."""
    from xdist.scheduler import LoadScopeScheduling

    class WorkUnits(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return work_unit(nodeid)

    return WorkUnits(config, log)
