"""Each control's row: drift only where the template and the guest describe one fact and vmiso
did not change it, a waiver only over a failure, no row for a control no check tested, and
each row says whose its control is (the host's, the template's or either's)."""

import datetime
import json

from helpers.output import document
from helpers.verdict import catalog
from helpers.verdict.rows import rows
from helpers.verdict.waivers import Waiver

# HV-01 is mirrored (the template and the guest describe one fact), ESC-06 is not.
CATALOG = {cid: c for cid, c in catalog.load().items() if cid in ("HV-01", "ESC-06", "NET-01")}


def check(controls, verdict, declared=False, name="c"):
    return {"check": f"suites/test_x.py::{name}", "controls": controls, "vantage": "outside",
            "declared": declared, "verdict": verdict, "message": "", "duration_s": 0.5,
            "evidence": [{"what": name}]}


def statuses(found):
    return {row["id"]: row["status"] for row in found}


def test_the_template_and_the_guest_disagreeing_is_drift_unless_vmiso_adapted_it():
    checks = [check(["HV-01"], "pass", declared=True, name="xml"), check(["HV-01"], "fail")]
    assert statuses(rows(CATALOG, checks)) == {"HV-01": "drift"}
    assert statuses(rows(CATALOG, checks, adapted=("HV-01",))) == {"HV-01": "fail"}


def test_a_control_that_is_not_mirrored_aggregates_its_checks():
    checks = [check(["ESC-06"], "pass", declared=True), check(["ESC-06"], "error")]
    assert statuses(rows(CATALOG, checks)) == {"ESC-06": "error"}


def test_an_active_waiver_covers_a_failure_and_is_shown_but_never_an_error():
    waiver = Waiver("ESC-06", "replaced in March", "team", datetime.date(2027, 3, 31), True)
    failed = rows(CATALOG, [check(["ESC-06"], "fail")], waivers={"ESC-06": waiver})
    assert failed[0]["status"] == "waived" and failed[0]["waiver"]["owner"] == "team"
    erred = rows(CATALOG, [check(["ESC-06"], "error")], waivers={"ESC-06": waiver})
    assert erred[0]["status"] == "error" and "waiver" not in erred[0]


def test_a_row_carries_its_checks_and_their_evidence_in_catalog_order():
    checks = [check(["ESC-06", "HV-01"], "pass", name="both"), check(["HV-01"], "pass", name="one")]
    found = rows(CATALOG, checks)
    assert [row["id"] for row in found] == ["HV-01", "ESC-06"]
    assert [c["check"] for c in found[0]["checks"]] == ["suites/test_x.py::both",
                                                        "suites/test_x.py::one"]
    assert found[0]["evidence"][1] == {"what": "one", "check": "suites/test_x.py::one"}
    assert found[0]["duration_s"] == 1.0


def test_a_row_says_whose_its_control_is():
    checks = [check(["HV-01", "ESC-06", "NET-01"], "fail")]
    assert {row["id"]: row["owner"] for row in rows(CATALOG, checks)} == {
        "HV-01": "template", "ESC-06": "host or template", "NET-01": "host or template"}


def test_the_schema_admits_every_owner_and_a_row_of_an_older_run_without_one():
    schema = json.loads(document.SCHEMA_PATH.read_text())
    assert tuple(schema["$defs"]["control"]["properties"]["owner"]["enum"]) == catalog.OWNERS
    found = rows(CATALOG, [check(["HV-01", "ESC-06"], "fail")])
    for row in found:
        row["evidence"] = []
    del found[1]["owner"]  # a row of a document written before rows carried an owner
    document.validate(document.build(found, {"host": {"name": "hv1"}}, 0.0, 1.0))
