"""No false pass under faults: a fault strikes once the guest is up
(tests/support/plugins/faults.py), and every control whose checks needed the broken part comes
out error, never pass."""

import os

import pytest

from tests.support.suite import run_suite

SURFACE = "suites/test_hypervisor_surface.py"
NETWORK = "suites/test_network.py"
TEMPLATE = "suites/test_template.py"
# fault -> (what the run checks, a check verdict that must be error for every control it affects)
FAULTS = {
    "destroy_guest": ([SURFACE], "inside"),
    "cut_guest_link": ([NETWORK, "--control", "NET-01,NET-03"], "inside"),
    "stop_sshd": ([SURFACE], "inside"),
    "hang_commands": ([SURFACE, "--control", "HV-01,HV-03,HV-06"], "inside"),
    "restart_libvirtd": ([TEMPLATE, "--control", "HV-01,HV-02,HV-03,HV-04"], "outside"),
    "qmp_fails": ([TEMPLATE, "suites/test_patch_levels.py", "--control",
                   "HV-01,HV-03,HV-05,PAT-01"], "outside"),
}


@pytest.fixture(scope="module", params=sorted(FAULTS))
def faulty_run(request, tmp_path_factory):
    selection, vantage = FAULTS[request.param]
    proc, report = run_suite(tmp_path_factory.mktemp(request.param), *selection,
                             "-p", "tests.support.plugins.faults",
                             env={"VMISO_FAULT": request.param})
    return request.param, vantage, proc, report


def test_fault_makes_affected_controls_error_never_pass(faulty_run):
    fault, vantage, proc, report = faulty_run
    affected = [c for c in report["controls"]
                if any(k["vantage"] == vantage and not k["declared"] for k in c["checks"])]
    assert affected, f"{fault}: no control was checked from the {vantage}"
    statuses = {c["id"]: c["status"] for c in affected}
    assert set(statuses.values()) == {"error"}, (fault, statuses, proc.stdout[-2000:])
    struck = [k for c in affected for k in c["checks"]
              if k["vantage"] == vantage and not k["declared"]]
    assert {k["verdict"] for k in struck} == {"error"}, (fault, struck)
    assert proc.returncode != 0


def test_fault_runs_leave_no_lab_behind(faulty_run):
    _, _, _, report = faulty_run
    run_id = report["run"]["lab"].removeprefix("vmiso-")
    assert not os.path.exists(f"/run/vmiso/{run_id}")
    assert not any(ns.startswith(f"vmiso-{run_id}") for ns in os.listdir("/run/netns"))
