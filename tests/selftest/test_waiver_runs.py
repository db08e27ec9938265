"""Waivers in a run: an active waiver passes the run and every report says so; an expired one
fails it again."""

import datetime

import yaml

from tests.support.suite import run_suite
from tests.unit.test_waivers import TODAY, entry, write


def waived_run(tmp_path, expires):
    path = write(tmp_path, yaml.safe_dump([entry(control="DEV-03", expires=expires)]))
    return run_suite(tmp_path / "report", "suites", "--template", "leaky", "--control",
                     "DEV-03", "--waivers", str(path))


def test_active_waiver_passes_the_run_and_the_report_says_waived(tmp_path):
    proc, report = waived_run(tmp_path, (TODAY.today() + datetime.timedelta(days=30)).isoformat())
    dev03 = report["controls"][0]
    assert (dev03["status"], dev03["waiver"]["active"]) == ("waived", True)
    assert proc.returncode == 0, proc.stdout[-1500:]
    assert "waived until" in proc.stdout


def test_expired_waiver_fails_again_and_says_so(tmp_path):
    proc, report = waived_run(tmp_path, "2020-01-31")
    dev03 = report["controls"][0]
    assert (dev03["status"], dev03["waiver"]["active"]) == ("fail", False)
    assert proc.returncode == 1
    assert "WAIVER EXPIRED on 2020-01-31" in proc.stdout
