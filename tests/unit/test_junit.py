"""JUnit XML: a test case per control, a suite per risk factor, errors apart from failures."""

import xml.etree.ElementTree as ET

from hypothesis import given

from helpers.output import junit
from helpers.verdict import verdicts
from tests.unit.test_document import build, runs


def cases(statuses):
    root = ET.fromstring(junit.render(build(statuses)))
    return root, {case.get("name").split()[0]: (suite, case)
                  for suite in root.findall("testsuite") for case in suite.findall("testcase")}


@given(runs)
def test_one_case_per_control_in_its_risk_factors_suite(statuses):
    root, found = cases(statuses)
    assert sorted(found) == sorted(statuses)
    for cid, (suite, case) in found.items():
        risk = build({cid: "pass"})["controls"][0]["risk"]
        assert suite.get("name").startswith(f"risk {risk}: ")
        assert case.get("classname") == f"vmiso.risk{risk}"
    assert int(root.get("tests")) == len(statuses)


@given(runs)
def test_failures_errors_and_skips_are_told_apart(statuses):
    root, found = cases(statuses)
    for cid, status in statuses.items():
        case = found[cid][1]
        outcome = [child.tag for child in case if child.tag != "system-out"]
        expected = {verdicts.FAIL: ["failure"], verdicts.DRIFT: ["failure"],
                    verdicts.ERROR: ["error"], verdicts.NOT_APPLICABLE: ["skipped"]}
        assert outcome == expected.get(status, [])
    assert int(root.get("failures")) == sum(s in ("fail", "drift") for s in statuses.values())
    assert int(root.get("errors")) == sum(s == "error" for s in statuses.values())


def test_a_failure_carries_its_evidence_and_remediation():
    doc = build({"HV-01": "fail"})
    control = doc["controls"][0]
    control["evidence"][0].update(what="FDC main status register", observed="80 <&>")
    failure = ET.fromstring(junit.render(doc)).find("testsuite/testcase/failure")
    assert "FDC main status register: 80 <&>" in failure.get("message")
    assert control["remediation"] in failure.text
    assert failure.get("type") == "fail"


def test_a_waived_failure_passes_and_says_until_when():
    doc = build({"ESC-04": "waived"})
    doc["controls"][0]["waiver"] = {"control": "ESC-04", "reason": "new image in March",
                                    "owner": "platform", "expires": "2027-03-31",
                                    "active": True}
    case = ET.fromstring(junit.render(doc)).find("testsuite/testcase")
    assert case.find("failure") is None
    assert "waived until 2027-03-31 by platform: new image in March" in case.find(
        "system-out").text
