"""Self-tests: run the suite as a user would, on the built-in templates, and read its report.

Every control must pass on `hardened` and fail on `leaky`, from every vantage the control map
lists, and the run must leave nothing behind.
"""

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
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
    "SHR-01": {"outside", "inside"},
    "SHR-02": {"outside", "inside"},
    "SHR-03": {"outside", "inside"},
    "NET-01": {"outside", "inside"},
    "NET-03": {"inside"},
    "NET-05": {"outside", "inside"},
    "NET-06": {"outside", "inside"},
    "DEV-01": {"outside"},
    "DEV-03": {"outside"},
    "DEV-04": {"outside"},
    "PAT-01": {"outside"},
    "PAT-02": {"outside"},
    "PAT-03": {"outside"},
    "PAT-04": {"inside"},
    "MGT-01": {"outside", "inside"},
    "MGT-02": {"outside"},
}


# Controls this machine fails whatever the template, read from the machine itself: no SELinux or
# AppArmor means no MAC label (ESC-04); a CPU vulnerability the kernel leaves open (PAT-03).
HAS_MAC = any(Path(p).exists() for p in ("/sys/fs/selinux", "/sys/kernel/security/apparmor"))
CPU_VULNERABLE = any(p.read_text().startswith("Vulnerable")
                     for p in Path("/sys/devices/system/cpu/vulnerabilities").glob("*"))
HOST_FAILURES = (set() if HAS_MAC else {"ESC-04"}) | ({"PAT-03"} if CPU_VULNERABLE else set())


def expected_status(template, control):
    if template == "leaky" or control in HOST_FAILURES:
        return "fail"
    return "pass"


def run_suite(template, report_dir):
    """The suite as `make conformance TEMPLATE=...` runs it (leaky on the leaky host profile)."""
    proc = subprocess.run([sys.executable, "-m", "pytest", "suites", "--template", template,
                           "--host-profile", template, "--report-dir", str(report_dir), "-q",
                           "--tb=line"],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    report = json.loads((report_dir / "controls.json").read_text())
    return proc, report


@pytest.fixture(scope="module", params=["hardened", "leaky"])
def run(request, tmp_path_factory):
    report_dir = tmp_path_factory.mktemp(request.param)
    proc, report = run_suite(request.param, report_dir)
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
    assert not Path(f"/run/vmiso/{run_id}").exists()
    leftovers = [pid for pid in os.listdir("/proc") if pid.isdigit() and run_id in _cmdline(pid)]
    assert not leftovers, [_cmdline(pid) for pid in leftovers]


def _cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
