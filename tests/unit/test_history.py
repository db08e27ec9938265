"""The run history: runs recorded under their start time, the run before a given one, and each
control's trend with since when it has failed, read from the newest files alone."""

import json
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.output import history
from helpers.verdict import verdicts
from tests.unit.test_html_report import sample

STATUSES = ("pass", "fail", "error", "mitigated", "not_applicable", "drift", "waived")


def day(n):
    return f"2026-11-{n:02d}T03:00:00.000Z"


def run(started, statuses, template="hardened"):
    """A small document: a row on host kvm1 per control in `statuses` (None: not tested)."""
    return {"format": "vmiso-controls/2", "started": started,
            "controls": [{"host": "kvm1", "template": template, "id": cid, "status": status}
                         for cid, status in statuses.items() if status is not None]}


def test_a_run_is_recorded_under_its_start_time(tmp_path):
    document = run("2026-11-30T08:49:23.123Z", {"HV-01": "pass"})
    path = history.record(document, tmp_path / "new" / "folder")
    assert path == tmp_path / "new" / "folder" / "2026-11-30T08-49-23.123Z.json"
    assert json.loads(path.read_text()) == document
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # nothing left aside


def recorded(folder, *documents):
    for document in documents:
        history.record(document, folder)
    return folder


def sample_on(started):
    document = sample("hardened")
    document["started"] = started
    return document


def test_the_previous_run_is_the_newest_before(tmp_path):
    recorded(tmp_path, sample_on(day(1)), sample_on(day(2)), sample_on(day(4)))
    document, path = history.previous(tmp_path, day(3))
    assert document["started"] == day(2) and path == tmp_path / history.file_name(day(2))
    assert history.previous(tmp_path, day(1)) == (None, None)
    assert history.previous(tmp_path / "absent", day(3)) == (None, None)


def test_a_format_1_run_comes_back_upgraded(tmp_path):
    old = sample_on(day(1))
    old["format"] = "vmiso-controls/1"
    for key in ("templates", "cells"):
        del old[key]
    del old["gate"]["blocking_cells"]
    for row in old["controls"]:
        del row["template"]
    recorded(tmp_path, old)
    document, _ = history.previous(tmp_path, day(2))
    assert document["format"] == "vmiso-controls/2"
    assert {row["template"] for row in document["controls"]} == {"hardened"}


@pytest.mark.parametrize("name, content, problem", [
    ("notes.json", "{}", "is not a run vmiso recorded"),
    (history.file_name(day(2)), "{not json", "is not a vmiso report (not JSON"),
    (history.file_name(day(2)), json.dumps({"format": "sarif"}), "format 'sarif'"),
    (history.file_name(day(2)), json.dumps({"format": "vmiso-controls/2"}),
     "breaks the report schema"),
])
def test_a_file_that_is_not_a_run_is_refused_in_one_line(tmp_path, name, content, problem):
    (tmp_path / name).write_text(content)
    with pytest.raises(history.HistoryError, match=re.escape(problem)) as err:
        history.previous(tmp_path, day(3))
    message = str(err.value)
    assert name in message and "move it out" in message and "\n" not in message


@pytest.mark.parametrize("content", ["{not json", json.dumps({"format": "sarif"}),
                                     json.dumps({"format": "vmiso-controls/2"})])
def test_the_trend_refuses_a_file_it_reads_that_is_not_a_run(tmp_path, content):
    (tmp_path / history.file_name(day(2))).write_text(content)
    with pytest.raises(history.HistoryError, match="move it out") as err:
        history.trend(run(day(3), {"HV-01": "fail"}), tmp_path)
    assert history.file_name(day(2)) in str(err.value)


def test_other_files_in_the_folder_are_left_alone(tmp_path):
    (tmp_path / "README").write_text("nightly runs")
    (tmp_path / "x.json.part").write_text("{")
    assert history.previous(tmp_path, day(3)) == (None, None)


def test_the_trend_reads_only_the_last_runs(tmp_path):
    # A year of nights, all but the last 13 unreadable: the trend must not open them.
    for n in range(365):
        started = f"2025-{1 + n // 31:02d}-{1 + n % 31:02d}T03:00:00.000Z"
        (tmp_path / history.file_name(started)).write_text("{not json")
    for n in range(1, 14):
        recorded(tmp_path, run(day(n), {"HV-01": "pass" if n < 10 else "fail"}))
    recorded(tmp_path, run(day(20), {"HV-01": "pass"}))  # after this run: not in its window
    trend = history.trend(run(day(14), {"HV-01": "fail", "HV-02": "pass"}), tmp_path)
    assert [r["started"] for r in trend["runs"]] == [day(n) for n in range(1, 15)]
    assert [r["file"] for r in trend["runs"]] == [history.file_name(day(n))
                                                  for n in range(1, 15)]
    assert trend["dir"] == str(tmp_path)
    hv01, hv02 = trend["controls"]
    assert (hv01["host"], hv01["template"], hv01["control"]) == ("kvm1", "hardened", "HV-01")
    assert hv01["statuses"] == ["pass"] * 9 + ["fail"] * 5 and hv01["failing_since"] == day(10)
    assert hv02["statuses"] == [None] * 13 + ["pass"] and hv02["failing_since"] is None


def test_a_window_of_one_run_is_the_run_itself(tmp_path):
    recorded(tmp_path, run(day(1), {"HV-01": "fail"}))
    trend = history.trend(run(day(2), {"HV-01": "fail"}), tmp_path, runs=1)
    assert trend["controls"][0]["statuses"] == ["fail"]
    assert trend["controls"][0]["failing_since"] == day(2)


def test_rows_are_keyed_by_template_too(tmp_path):
    recorded(tmp_path, run(day(1), {"HV-01": "fail"}, template="leaky"))
    trend = history.trend(run(day(2), {"HV-01": "fail"}), tmp_path)
    assert trend["controls"][0]["statuses"] == [None, "fail"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(STATUSES + (None,)), max_size=13), st.sampled_from(STATUSES))
def test_failing_since_starts_the_trailing_failing_streak(past, now):
    with tempfile.TemporaryDirectory() as folder:
        for n, status in enumerate(past, 1):
            history.record(run(day(n), {"HV-01": status}), folder)
        trend = history.trend(run(day(len(past) + 1), {"HV-01": now}), Path(folder))
    statuses = trend["controls"][0]["statuses"]
    assert statuses == past + [now]
    since = trend["controls"][0]["failing_since"]
    if now not in verdicts.FAILING:
        assert since is None
        return
    first = [r["started"] for r in trend["runs"]].index(since)
    assert all(s in verdicts.FAILING for s in statuses[first:])
    assert first == 0 or statuses[first - 1] not in verdicts.FAILING
