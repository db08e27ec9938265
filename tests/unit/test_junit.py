"""JUnit XML: a test suite per cell (a template on a host), a test case per control in it, errors
apart from failures."""

import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from helpers.output import junit
from helpers.verdict import verdicts
from tests.unit.test_document import HOST, build, runs


def matrix(cells):
    """One document of several cells: `cells` maps (host, template) to that cell's statuses."""
    rows, entries = [], []
    for (host, template), statuses in cells.items():
        cell = build(statuses, host=dict(HOST, name=host))
        rows += [dict(row, template=template) for row in cell["controls"]]
        entries.append(dict(cell["cells"][0], host=host, template=template))
    return dict(build(next(iter(cells.values()))), controls=rows, cells=entries)


def cases(document):
    """(suite name, control ID) -> (suite, case)."""
    root = ET.fromstring(junit.render(document))
    return root, {(suite.get("name"), case.get("name").split()[0]): (suite, case)
                  for suite in root.findall("testsuite") for case in suite.findall("testcase")}


def outcome(case):
    return [child.tag for child in case if child.tag not in ("system-out", "properties")]


def properties(case):
    return {p.get("name"): p.get("value") for p in case.findall("properties/property")}


@given(runs)
def test_one_case_per_control_in_its_cells_suite(statuses):
    document = build(statuses)
    root, found = cases(document)
    assert sorted(cid for _, cid in found) == sorted(statuses)
    template = document["controls"][0]["template"]
    for (name, cid), (suite, case) in found.items():
        row = next(c for c in document["controls"] if c["id"] == cid)
        assert name == f"{template} on {HOST['name']}"
        assert suite.get("hostname") == HOST["name"]
        assert suite.get("timestamp") == document["started"]
        assert case.get("classname") == f"vmiso.risk{row['risk']}"
        assert properties(case)["risk_factor"] == f"{row['risk']} {row['risk_factor']}"
    assert int(root.get("tests")) == len(statuses)


@given(runs)
def test_failures_errors_and_skips_are_told_apart(statuses):
    root, found = cases(build(statuses))
    by_id = {cid: case for (_, cid), (_, case) in found.items()}
    for cid, status in statuses.items():
        expected = {verdicts.FAIL: ["failure"], verdicts.DRIFT: ["failure"],
                    verdicts.ERROR: ["error"], verdicts.NOT_RUN: ["error"],
                    verdicts.NOT_APPLICABLE: ["skipped"]}
        assert outcome(by_id[cid]) == expected.get(status, [])
    assert int(root.get("failures")) == sum(s in ("fail", "drift") for s in statuses.values())
    assert int(root.get("errors")) == sum(s in verdicts.UNDECIDED for s in statuses.values())


CELLS = st.dictionaries(st.tuples(st.sampled_from(["kvm1", "kvm2"]),
                                  st.sampled_from(["hardened", "leaky"])), runs, min_size=1)


@given(CELLS)
def test_a_matrix_gets_a_suite_per_cell_with_its_own_counts(cells):
    root = ET.fromstring(junit.render(matrix(cells)))
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [f"{t} on {h}" for h, t in cells]
    for suite, ((host, _), statuses) in zip(suites, cells.items()):
        assert suite.get("hostname") == host
        assert sorted(c.get("name").split()[0] for c in suite) == sorted(statuses)
        assert int(suite.get("tests")) == len(statuses)
        assert int(suite.get("failures")) == sum(s in ("fail", "drift")
                                                 for s in statuses.values())
        assert int(suite.get("errors")) == sum(s in verdicts.UNDECIDED for s in statuses.values())
        assert int(suite.get("skipped")) == sum(s == "not_applicable"
                                                for s in statuses.values())
    assert int(root.get("tests")) == sum(len(s) for s in cells.values())


def test_a_host_without_a_name_is_an_unknown_host():
    document = build({"HV-01": "error"})
    document["controls"][0]["host"] = document["cells"][0]["host"] = None
    suite = ET.fromstring(junit.render(document)).find("testsuite")
    assert suite.get("hostname") == "unknown host"
    assert suite.get("name").endswith(" on unknown host")


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
