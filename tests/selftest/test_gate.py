"""The gate: --fail-on sets the exit status by severity, while the report keeps every verdict;
an expired waiver fails again in every report file. DEV-03 (medium) fails on leaky from the
template alone, so these runs boot no guest."""

import xml.etree.ElementTree as ET

import pytest
import yaml

from tests.support.suite import run_suite


def dev03_run(tmp_path, *options):
    return run_suite(tmp_path / "report", "suites", "--template", "leaky", "--control", "DEV-03",
                     *options)


@pytest.mark.parametrize("fail_on, blocked", [("any", True), ("low", True), ("medium", True),
                                              ("high", False), ("critical", False)])
def test_fail_on_sets_the_exit_status_and_keeps_the_verdict(tmp_path, fail_on, blocked):
    proc, report = dev03_run(tmp_path, "--fail-on", fail_on)
    assert report["controls"][0]["status"] == "fail"
    assert report["gate"]["fail_on"] == fail_on
    assert report["gate"]["blocking"] == (["DEV-03"] if blocked else [])
    assert report["gate"]["blocking_cells"] == ([{"host": report["host"]["name"],
                                                  "template": "leaky", "control": "DEV-03"}]
                                                if blocked else [])
    assert proc.returncode == (1 if blocked else 0), proc.stdout[-1500:]
    assert ("gate (--fail-on %s): %s" % (fail_on, "FAILED by DEV-03" if blocked else "passed")
            ) in proc.stdout


def test_an_expired_waiver_fails_in_every_report_file(tmp_path):
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(yaml.safe_dump([{"control": "DEV-03", "reason": "old disks",
                                        "owner": "storage", "expires": "2020-01-31"}]))
    proc, report = dev03_run(tmp_path, "--waivers", str(waivers), "--fail-on", "high")
    assert report["controls"][0]["waiver"]["active"] is False
    report_dir = tmp_path / "report"
    assert "WAIVER EXPIRED" in (report_dir / "report.html").read_text()
    case = ET.parse(report_dir / "junit.xml").getroot().find("testsuite/testcase")
    assert case.find("failure") is not None
    assert "WAIVER EXPIRED on 2020-01-31" in case.find("system-out").text
