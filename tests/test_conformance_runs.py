"""Self-tests: run the suite as a user would, on the built-in templates, and read its report.

Every control must pass on `hardened` and fail on `leaky`, from every vantage the control map
lists, and the run must leave nothing behind.
"""

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests import matrix
from tests.runs import run_suite

# Vantages CONTROLS.md lists for each control (several have one vantage only).
VANTAGES = {
    "HV-01": {"outside", "inside"},
    "HV-02": {"outside", "inside"},
    "HV-03": {"outside", "inside"},
    "HV-04": {"outside", "inside"},
    "HV-05": {"outside", "inside"},
    "HV-06": {"outside", "inside"},
    "HV-07": {"outside", "inside"},
    "HV-08": {"outside"},
    "ESC-01": {"outside"},
    "ESC-02": {"outside"},
    "ESC-03": {"outside"},
    "ESC-04": {"outside"},
    "ESC-05": {"outside"},
    "ESC-06": {"outside"},
    "SHR-01": {"outside", "inside"},
    "SHR-02": {"outside", "inside"},
    "SHR-03": {"outside", "inside"},
    "SHR-04": {"outside", "inside"},
    "SHR-05": {"outside", "inside"},
    "NET-01": {"outside", "inside"},
    "NET-02": {"inside"},
    "NET-03": {"inside"},
    "NET-04": {"outside", "inside"},
    "NET-05": {"outside", "inside"},
    "NET-06": {"outside", "inside"},
    "DEV-01": {"outside"},
    "DEV-02": {"outside", "inside"},
    "DEV-03": {"outside"},
    "DEV-04": {"outside"},
    "PAT-01": {"outside"},
    "PAT-02": {"outside"},
    "PAT-03": {"outside"},
    "PAT-04": {"inside"},
    "PAT-05": {"outside"},
    "MGT-01": {"outside", "inside"},
    "MGT-02": {"outside"},
    "MGT-03": {"outside", "inside"},
    "MGT-04": {"inside"},
}


# Controls this machine fails whatever the template, read from the machine itself: no SELinux or
# AppArmor means no MAC label (ESC-04); without CAP_SYS_RESOURCE libvirt cannot apply a memory
# limit (ESC-06); a CPU vulnerability the kernel leaves open (PAT-03).
HAS_MAC = any(Path(p).exists() for p in ("/sys/fs/selinux", "/sys/kernel/security/apparmor"))
CAP_SYS_RESOURCE = 24
CAN_LIMIT_MEMORY = bool(int(next(line.split()[1] for line in open("/proc/self/status")
                                 if line.startswith("CapEff:")), 16) >> CAP_SYS_RESOURCE & 1)
CPU_VULNERABLE = any(p.read_text().startswith("Vulnerable")
                     for p in Path("/sys/devices/system/cpu/vulnerabilities").glob("*"))
HOST_FAILURES = ((set() if HAS_MAC else {"ESC-04"}) | (set() if CAN_LIMIT_MEMORY else {"ESC-06"})
                 | ({"PAT-03"} if CPU_VULNERABLE else set()))
# Leaks this lab cannot start a guest with (the matrix's static-only mutations): leaky lacks them.
NOT_IN_LEAKY = {cid for cid, m in matrix.load().items() if m.kind == "static"}


def expected_status(template, control):
    if control in HOST_FAILURES or (template == "leaky" and control not in NOT_IN_LEAKY):
        return "fail"
    return "pass"


@pytest.fixture(scope="module", params=["hardened", "leaky"])
def run(request, tmp_path_factory):
    """The suite as `make conformance TEMPLATE=...` runs it (leaky on the leaky host profile)."""
    report_dir = tmp_path_factory.mktemp(request.param)
    proc, report = run_suite(report_dir, "suites", "--template", request.param,
                             "--host-profile", request.param)
    return request.param, proc, report, report_dir


def by_id(report):
    return {c["id"]: c for c in report["controls"]}


def test_every_control_is_reported(run):
    _, proc, report, _ = run
    assert set(by_id(report)) == set(VANTAGES), proc.stdout[-2000:]


def test_verdicts_match_the_template_and_the_host(run):
    template, proc, report, _ = run
    statuses = {cid: c["status"] for cid, c in by_id(report).items()}
    assert statuses == {cid: expected_status(template, cid) for cid in VANTAGES}, \
        proc.stdout[-3000:]


def test_exit_status_is_zero_only_when_every_control_passed(run):
    _, proc, report, _ = run
    every_control_passed = all(c["status"] == "pass" for c in report["controls"])
    assert (proc.returncode == 0) == every_control_passed, proc.stdout[-2000:]


def test_each_vantage_reaches_the_same_verdict(run):
    template, _, report, _ = run
    for cid, control in by_id(report).items():
        expected = expected_status(template, cid)
        vantages = {c["vantage"] for c in control["checks"] if c["verdict"] == expected}
        assert vantages == VANTAGES[cid], (cid, control["checks"])


def test_evidence_says_what_was_observed_and_expected(run):
    _, _, report, _ = run
    for control in report["controls"]:
        assert control["evidence"], control["id"]
        for entry in control["evidence"]:
            assert entry["what"] and entry["observed"] and entry["expected"], entry
            assert entry["vantage"] in ("outside", "inside")


def test_junit_names_the_controls_of_each_case(run):
    _, _, _, report_dir = run
    cases = ET.parse(report_dir / "junit.xml").getroot().iter("testcase")
    properties = [{p.get("name"): p.get("value") for p in case.iter("property")} for case in cases]
    assert properties and all(set(p.get("controls", "").split()) <= set(VANTAGES)
                              and p.get("controls") and p.get("verdict") for p in properties)


def test_nothing_is_left_behind(run):
    _, _, report, _ = run
    lab = report["run"]["lab"]
    run_id = lab.removeprefix("vmiso-")
    assert not Path(f"/run/netns/{lab}").exists()
    assert not Path(f"/run/netns/{lab}-up").exists()
    assert not Path(f"/run/netns/{lab}-mg").exists()
    assert not Path(f"/run/vmiso/{run_id}").exists()
    leftovers = [pid for pid in os.listdir("/proc") if pid.isdigit() and run_id in _cmdline(pid)]
    assert not leftovers, [_cmdline(pid) for pid in leftovers]


def _cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
