"""A host whose libvirtd has no CPU cgroup controller (tests/support/plugins/no_cpu_cgroup.py):
libvirt refuses the hardened template's <cputune> there. One element the host cannot honour must
not blind the run: vmiso drops it and says so, DEV-07 (the control it serves) fails as the
adaptation's with the host's fix, and every other control is decided as on this machine."""

import pytest

from helpers.output import findings
from tests.support.expected import VANTAGES, expected_status
from tests.support.suite import run_suite, statuses, unlike

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_suite(tmp_path_factory.mktemp("no-cpu-cgroup"), "suites",
                     "-p", "tests.support.plugins.no_cpu_cgroup")


def test_the_hardened_template_is_decided_control_by_control(run):
    proc, report = run
    expected = {cid: expected_status("hardened", cid) for cid in VANTAGES} | {"DEV-07": "fail"}
    assert statuses(report) == expected, unlike(report, expected)


def test_the_cpu_bound_fails_as_the_adaptation_with_the_hosts_fix(run):
    _, report = run
    dropped = [a for a in report["run"]["adaptations"] if a.startswith("<cputune> ")]
    assert len(dropped) == 1 and "no cpu cgroup controller" in dropped[0], \
        report["run"]["adaptations"]
    assert "DEV-07" in report["run"]["adapted_controls"]
    dev07 = next(f for f in findings.failing(report) if f.row["id"] == "DEV-07")
    assert (dev07.owner, dev07.why) == (findings.ADAPTATION, dropped[0])
    assert "no CPU cgroup for QEMU" in str(dev07.row["checks"])
