"""The report document: it always validates against the schema, the gate blocks exactly what it
should, and a baseline comparison accounts for every control that changed."""

import json
import subprocess
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.output import document
from helpers.verdict import catalog, verdicts

CATALOG = catalog.load()
V1_LEAKY = Path(__file__).resolve().parents[1] / "support" / "data" / "report-v1-leaky.json"
V1_LEAKY = Path(__file__).resolve().parents[1] / "support" / "data" / "report-v1-leaky.json"
STATUSES = (verdicts.PASS, verdicts.FAIL, verdicts.ERROR, verdicts.MITIGATED,
            verdicts.NOT_APPLICABLE, verdicts.DRIFT, verdicts.WAIVED, verdicts.NOT_RUN)
HOST = {"name": "hv1", "uri": "qemu:///system", "kernel": "6.1.0", "qemu": "7.2.19",
        "libvirt": "9.0.0", "accelerator": "tcg"}


def control(cid, status):
    entry = CATALOG[cid]
    verdict = status if status != verdicts.WAIVED else verdicts.FAIL
    return {"id": cid, "title": entry.title, "risk": entry.risk, "severity": entry.severity,
            "status": status, "references": list(entry.references),
            "remediation": entry.remediation, "duration_s": 0.5,
            "evidence": [{"check": f"suites/x.py::{cid}", "vantage": "inside", "what": "probe",
                          "observed": "none", "expected": "none", "ok": status == "pass"}],
            "checks": [{"check": f"suites/x.py::{cid}", "vantage": "inside", "declared": False,
                        "verdict": verdict, "message": "", "duration_s": 0.5}]}


runs = st.dictionaries(st.sampled_from(sorted(CATALOG)), st.sampled_from(STATUSES), min_size=1)


def build(statuses, fail_on="any", host=HOST, status=document.RAN):
    controls = [control(cid, status) for cid, status in sorted(statuses.items())]
    return document.build(controls, {"host": host, "probe_seed": 7}, 1795660000.0,
                          1795660042.5, fail_on, status=status,
                          message="" if status == document.RAN else "interrupted (Ctrl-C)")


@given(runs, st.sampled_from(catalog.FAIL_ON), st.sampled_from((document.RAN,)
                                                                 + document.ENDED_EARLY))
def test_the_gate_passes_only_a_run_that_ran_to_its_end_with_nothing_blocking(statuses, fail_on,
                                                                               ended):
    built = build(statuses, fail_on, status=ended)
    document.validate(built)
    assert document.gate_passed(built) == (ended == document.RAN
                                           and not built["gate"]["blocking"])


@given(runs, st.sampled_from(catalog.FAIL_ON))
def test_every_document_validates_against_the_schema(statuses, fail_on):
    document.validate(build(statuses, fail_on))


def test_a_document_missing_a_field_is_refused_by_the_schema():
    broken = build({"HV-01": "pass"})
    del broken["controls"][0]["remediation"]
    with pytest.raises(jsonschema.ValidationError):
        document.validate(broken)


@given(runs)
def test_fail_on_any_blocks_every_failure_drift_and_error(statuses):
    expected = sorted(c for c, s in statuses.items() if s in verdicts.FAILING)
    assert sorted(build(statuses)["gate"]["blocking"]) == expected


@given(runs, st.sampled_from(catalog.SEVERITIES))
def test_a_higher_threshold_only_lets_less_severe_failures_through(statuses, fail_on):
    blocked = set(build(statuses, fail_on)["gate"]["blocking"])
    assert blocked <= set(build(statuses)["gate"]["blocking"])
    rank = catalog.SEVERITIES.index
    for cid, status in statuses.items():
        if status in verdicts.UNDECIDED:
            assert cid in blocked  # an error or a control not run is never let through
        elif status in (verdicts.FAIL, verdicts.DRIFT):
            assert (cid in blocked) == (rank(CATALOG[cid].severity) <= rank(fail_on))


def test_waived_and_passing_controls_never_block():
    doc = build({"ESC-04": "waived", "HV-01": "pass", "HV-03": "mitigated",
                 "DEV-04": "not_applicable"})
    assert doc["gate"]["blocking"] == []


@given(runs, runs)
def test_a_comparison_accounts_for_every_control_that_changed(before, after):
    comparison = document.compare(build(after), build(before), "night.json")
    document.validate(dict(build(after), baseline=comparison))
    listed = [(c["control"], c["was"], c["now"]) for kind in ("regressed", "fixed", "new",
                                                              "gone", "changed")
              for c in comparison[kind]]
    changed = [(cid, before.get(cid), after.get(cid)) for cid in sorted(before.keys() |
                                                                        after.keys())
               if before.get(cid) != after.get(cid)]
    assert sorted(listed, key=str) == sorted(changed, key=str)
    for change in comparison["regressed"]:
        assert change["was"] in document.GOOD and change["now"] in verdicts.FAILING


def test_hardened_against_leaky_lists_each_regression():
    hardened = {"HV-01": "pass", "NET-01": "pass", "ESC-04": "fail"}
    leaky = {"HV-01": "fail", "NET-01": "fail", "ESC-04": "fail"}
    comparison = document.compare(build(leaky), build(hardened), "hardened.json")
    assert [c["control"] for c in comparison["regressed"]] == ["HV-01", "NET-01"]
    assert comparison["fixed"] == comparison["new"] == comparison["gone"] == []


def test_controls_are_keyed_by_host_too():
    other = dict(HOST, name="hv2")
    comparison = document.compare(build({"HV-01": "pass"}, host=other),
                                  build({"HV-01": "pass"}), "hv1.json")
    assert [(c["host"], c["now"]) for c in comparison["new"]] == [("hv2", "pass")]
    assert [(c["host"], c["was"]) for c in comparison["gone"]] == [("hv1", "pass")]


@pytest.mark.parametrize("content, problem", [
    ("{not json", "is not JSON"),
    (json.dumps({"format": "something-else"}), "is not a vmiso-controls/2 report"),
    (json.dumps({"format": "vmiso-controls/2"}), "breaks the report schema"),
    (json.dumps({"format": "vmiso-controls/1"}), "breaks the report schema"),
])
def test_a_bad_baseline_is_refused_in_one_line(tmp_path, content, problem):
    path = tmp_path / "controls.json"
    path.write_text(content)
    with pytest.raises(document.DocumentError, match=problem) as err:
        document.load(path)
    assert "\n" not in str(err.value)


def test_a_missing_baseline_names_the_fix(tmp_path):
    with pytest.raises(document.DocumentError, match="controls.json of an earlier run"):
        document.load(tmp_path / "absent.json")


def test_a_written_document_loads_back_as_a_baseline(tmp_path):
    path = tmp_path / "controls.json"
    path.write_text(json.dumps(build({"HV-01": "fail", "NET-01": "pass"})))
    assert [c["id"] for c in document.load(path)["controls"]] == ["HV-01", "NET-01"]


def test_a_file_gone_by_the_end_of_the_run_has_no_hash(tmp_path):
    assert document.file_facts(tmp_path / "gone.qcow2") == {"path": str(tmp_path / "gone.qcow2"),
                                                            "sha256": None}


def test_the_version_names_the_commit_of_a_git_checkout():
    head = subprocess.run(["git", "-C", str(document.CHECKOUT), "rev-parse", "HEAD"],
                          capture_output=True, text=True)
    version = document.suite_version()
    if head.returncode != 0:
        assert version == document.VERSION
    else:
        assert version.startswith(f"{document.VERSION}+{head.stdout[:12]}")


def test_controls_are_keyed_by_template_when_a_run_has_several():
    web = build({"HV-01": "pass"})
    both = dict(web, controls=web["controls"] + [
        dict(c, template="leaky", status="fail") for c in web["controls"]])
    comparison = document.compare(both, web, "night.json")
    assert [(c["template"], c["now"]) for c in comparison["new"]] == [("leaky", "fail")]
    assert comparison["regressed"] == comparison["gone"] == []


def test_two_runs_of_one_template_each_compare_control_by_control():
    hardened = build({"HV-01": "pass"})
    leaky = document.build([control("HV-01", "fail")], {"host": HOST, "template": "leaky.xml"},
                           1795660000.0, 1795660042.5)
    comparison = document.compare(leaky, hardened, "night.json")
    assert [(c["template"], c["control"], c["was"], c["now"]) for c in comparison["regressed"]] \
        == [("leaky", "HV-01", "pass", "fail")]
    assert comparison["new"] == comparison["gone"] == []


def test_a_document_of_the_first_format_is_read_as_this_one():
    """A baseline an earlier vmiso wrote (one template): its rows gain that template's name, so
    last night's report still compares with tonight's."""
    old = document.load(V1_LEAKY)
    document.validate(old)
    assert old["format"] == document.FORMAT
    assert {c["template"] for c in old["controls"]} == {"leaky"}
    assert [(c["host"], c["template"]) for c in old["cells"]] == [("vm", "leaky")]
    assert {(b["host"], b["control"]) for b in old["gate"]["blocking_cells"]} == \
        {("vm", cid) for cid in old["gate"]["blocking"]}
    tonight = dict(old, controls=[dict(c, status="pass") for c in old["controls"]])
    fixed = document.compare(tonight, old, V1_LEAKY)["fixed"]
    assert {c["control"] for c in fixed} == {c["id"] for c in old["controls"]
                                             if c["status"] not in document.GOOD}
