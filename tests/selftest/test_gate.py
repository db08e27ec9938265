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


def test_a_history_broken_during_the_run_is_one_line_after_the_report_is_written(tmp_path):
    """Write first, then fail: the run's own verdicts reach its report files, the history is
    left as it was (nothing recorded over it), and the broken file is named (exit 4)."""
    history = tmp_path / "history"
    first, _ = dev03_run(tmp_path, "--history", str(history))
    assert first.returncode == 1 and len(list(history.glob("*.json"))) == 1
    proc, report = run_suite(tmp_path / "second", "suites", "--template", "leaky", "--control",
                             "DEV-03", "--history", str(history), "-p",
                             "tests.support.plugins.break_history")
    said = proc.stdout + proc.stderr
    assert proc.returncode == 4, said[-2000:]
    assert "is not a vmiso report (not JSON" in said and "Traceback" not in said
    assert report["cells"][0]["status"] == "ran" and "history" not in report
    assert [(row["id"], row["status"]) for row in report["controls"]] == [("DEV-03", "fail")]
    assert "DEV-03" in (tmp_path / "second" / "junit.xml").read_text()
    assert [p.read_text() for p in history.glob("*.json")] == ["{not json"]
