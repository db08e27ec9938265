"""What a run's report folder holds however the run ends: the folder held by one run at a time,
the previous run's files cleared, each file replaced whole; and what the report opens on: the
failing controls, worst first, with whose each is and its fix."""

import json
import os
from pathlib import Path

import pytest

from helpers.local import atomicfile
from helpers.output import document, findings, reportdir
from helpers.verdict import catalog, verdicts
from scripts import vmiso

CATALOG = catalog.load()


def test_a_folder_is_held_by_one_run_and_cleared_of_the_previous_runs_files(tmp_path):
    for name in reportdir.RUN_FILES:
        (tmp_path / name).write_text("earlier")
    (tmp_path / "cells" / "001-x").mkdir(parents=True)
    (tmp_path / "notes.txt").write_text("the user's own")
    held = reportdir.ReportFolder(tmp_path).claim()
    assert sorted(p.name for p in tmp_path.iterdir()) == [reportdir.LOCK_NAME, "notes.txt"]
    with pytest.raises(reportdir.FolderBusy, match=f"report folder {tmp_path} is in use by "
                                                   f"another vmiso run \\(pid {os.getpid()}\\)"):
        reportdir.ReportFolder(tmp_path).claim()
    held.release()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    reportdir.ReportFolder(tmp_path).claim().release()  # free again


def test_a_link_in_the_folder_is_replaced_never_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "controls.json").symlink_to(victim)
    (folder / "cells").symlink_to(tmp_path)
    reportdir.ReportFolder(folder).claim().release()
    assert victim.read_text() == "keep me" and (tmp_path / "reports").is_dir()
    (folder / "report.html").symlink_to(victim)
    atomicfile.replace(folder / "report.html", "<html>")
    assert victim.read_text() == "keep me"
    assert not (folder / "report.html").is_symlink()


def test_a_lock_file_that_is_a_link_is_refused(tmp_path):
    (tmp_path / reportdir.LOCK_NAME).symlink_to(tmp_path / "elsewhere")
    with pytest.raises(reportdir.ReportError, match="cannot be used"):
        reportdir.ReportFolder(tmp_path).claim()
    assert not (tmp_path / "elsewhere").exists()


def test_a_run_that_did_not_run_leaves_every_control_not_run_and_a_failed_gate(tmp_path):
    assert reportdir.write_did_not_run(tmp_path, CATALOG, "did not run: bad option", 1.0,
                                       "leaky")
    written = document.load(tmp_path / "controls.json", purpose="report")
    assert written["cells"][0]["status"] == document.DID_NOT_RUN
    assert written["cells"][0]["message"] == "did not run: bad option"
    assert {row["status"] for row in written["controls"]} == {verdicts.NOT_RUN}
    assert len(written["controls"]) == len(CATALOG) and not document.gate_passed(written)
    assert f'errors="{len(CATALOG)}"' in (tmp_path / "junit.xml").read_text()


def test_a_held_folder_gets_no_did_not_run_report(tmp_path):
    held = reportdir.ReportFolder(tmp_path).claim()
    assert not reportdir.write_did_not_run(tmp_path, CATALOG, "did not run: x", 1.0)
    assert not (tmp_path / "controls.json").exists()
    held.release()


def row(cid, status, owner="template", message=""):
    return {"id": cid, "title": CATALOG[cid].title, "severity": CATALOG[cid].severity,
            "status": status, "remediation": CATALOG[cid].remediation, "owner": owner,
            "host": "hv1", "template": "t", "evidence": [],
            "checks": [{"check": "c", "vantage": "outside", "verdict": status,
                        "message": message}]}


def run_document(rows, run):
    return {"controls": rows, "run": run,
            "cells": [{"host": "hv1", "template": "t", "status": "ran", "run": run}]}


def test_failing_controls_come_worst_first_and_passing_ones_are_folded():
    rows = [row("HV-03", verdicts.PASS), row("ESC-06", verdicts.FAIL),
            row("HV-01", verdicts.FAIL), row("NET-01", verdicts.ERROR, message="SSH broke"),
            row("ESC-04", verdicts.NOT_RUN), row("HV-02", verdicts.WAIVED)]
    found = findings.failing(run_document(rows, {}))
    assert [f.row["id"] for f in found] == ["HV-01", "ESC-06", "NET-01"]
    assert found[2].owner == findings.UNDECIDED and found[2].why == "SSH broke"
    assert [r["id"] for r in findings.not_run(run_document(rows, {}))] == ["ESC-04"]
    folded = findings.folded(run_document(rows, {}))
    assert {s: [r["id"] for r in rs] for s, rs in folded.items()} == {
        verdicts.WAIVED: ["HV-02"], verdicts.PASS: ["HV-03"]}


def test_a_control_vmiso_adapted_is_its_adaptations_not_the_templates():
    run = {"adapted_controls": ["ESC-06"],
           "adaptations": ["domain type 'kvm' -> 'qemu' (KVM unusable: TCG)",
                           "<memtune> removed: libvirt cannot apply memory limits on this host"]}
    found = findings.failing(run_document([row("ESC-06", verdicts.FAIL, "host or template")],
                                          run))[0]
    assert found.owner == findings.ADAPTATION
    assert found.why == "<memtune> removed: libvirt cannot apply memory limits on this host"
    assert "<memtune>" not in found.fix and "this host could not apply it" in found.fix


def test_each_adapted_control_names_the_change_its_evidence_speaks_of():
    memtune = "<memtune> removed: libvirt cannot apply memory limits on this host"
    cputune = "<cputune> global_quota removed: the host's libvirt has no cpu cgroup controller"
    run = {"adapted_controls": ["ESC-06", "DEV-07"], "adaptations": [memtune, cputune]}
    rows = [row("ESC-06", verdicts.FAIL, message="memory limit: unlimited (expected a finite "
                                                 "limit (memtune hard_limit applied))"),
            row("DEV-07", verdicts.FAIL, message="no CPU cgroup for QEMU (expected a quota "
                                                 "(<cputune><global_quota>))")]
    why = {f.row["id"]: f.why for f in findings.failing(run_document(rows, run))}
    assert why == {"ESC-06": memtune, "DEV-07": cputune}


def test_an_owned_failure_carries_its_owner_and_the_catalogs_fix():
    found = findings.failing(run_document([row("ESC-04", verdicts.FAIL, "host")], {}))[0]
    assert (found.owner, found.fix) == ("host", CATALOG["ESC-04"].remediation)


@pytest.mark.parametrize("args, option, value", [
    (["--report-dir", "out", "--template", "x.xml"], "--report-dir", "out"),
    (["--report-dir=out"], "--report-dir", "out"),
    (["--template"], "--template", None),
    ([], "--report-dir", None),
])
def test_the_vmiso_command_finds_the_report_folder_it_was_given(args, option, value):
    assert vmiso.given(args, option) == value


def test_the_vmiso_command_keeps_the_exit_statuses_of_its_jobs(tmp_path, capsys):
    assert vmiso.main(["frobnicate"]) == vmiso.EXIT_USAGE
    assert vmiso.main(["merge", "--no-such-option"]) == vmiso.EXIT_USAGE
    assert vmiso.main(["merge", str(tmp_path / "missing")]) == vmiso.EXIT_USAGE
    assert vmiso.main(["--help"]) == vmiso.EXIT_PASSED
    said = capsys.readouterr()
    assert "exit statuses" in said.out and "vmiso merge: report" in said.err


def test_the_vmiso_command_checks_templates_with_the_gates_status(tmp_path):
    assert vmiso.main(["check-templates", "leaky", "--report-dir", str(tmp_path)]) == 1
    assert vmiso.main(["check-templates", "hardened", "--report-dir", str(tmp_path)]) == 0
    assert json.loads(Path(tmp_path / "hardened" / "controls.json").read_text())["gate"][
        "passed"]
