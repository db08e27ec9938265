"""Static template findings as a SARIF 2.1.0 log, for code hosts to annotate the template's line.

    log = build(["templates/leaky.xml"], findings, catalog.load(), "0.6.0+3fe84d7a1b2c")
    log["runs"][0]["results"][0]["ruleId"]          # "HV-01", at its finding's line
    write(log, Path("reports/templates.sarif"))     # for github/codeql-action/upload-sarif

Each control passed in the catalog is a rule, in catalog order, whether it has findings or not:
rule indices then stay the same from run to run, and a clean log still says what was checked
(pass only the controls that the static analysis covers). GitHub code scanning reads the
rule's security-severity; its level follows the control's severity. A finding's fingerprint is
made of its control, template and message, not its line, so an element that moves is the same
alert. The format: https://docs.oasis-open.org/sarif/sarif/v2.1.0/ (errata 01).
"""

import hashlib
import json
import os
import re
from collections import Counter
from pathlib import PurePath, PurePosixPath
from urllib.parse import quote

from helpers.verdict.catalog import RISK_FACTORS

SCHEMA_URI = ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"
              "sarif-schema-2.1.0.json")
SOURCE_ROOT = "SRCROOT"  # the repository root, for relative template paths
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
# GitHub's bands: critical over 9.0, high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
FINGERPRINT = "vmisoFinding/v1"
XML_ELEMENT = re.compile(r"(<[^<>`\n]+>)")  # an element named in a remediation


def build(templates, findings, catalog, version):
    templates = list(dict.fromkeys(os.fspath(t) for t in templates))
    rules = list(catalog)
    seen = Counter()
    results = [_result(f, rules, templates, catalog, seen) for f in findings]
    driver = {"name": "vmiso", "semanticVersion": version, "version": version,
              "rules": [_rule(catalog[cid]) for cid in rules]}
    run = {"tool": {"driver": driver},
           "invocations": [{"executionSuccessful": True}],
           "artifacts": [{"location": _location(t)} for t in templates],
           "columnKind": "utf16CodeUnits",
           "results": results}
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def write(log, path):
    path.write_text(json.dumps(log, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _rule(control):
    rule = {"id": control.id,
            "name": "".join(w[:1].upper() + w[1:] for w in re.findall(r"[A-Za-z0-9]+",
                                                                     control.title)),
            "shortDescription": {"text": control.title},
            "fullDescription": {"text": _summary(control)},
            "help": {"text": _help_text(control), "markdown": _help_markdown(control)},
            "defaultConfiguration": {"level": LEVELS[control.severity]},
            "properties": {"tags": ["security", f"risk{control.risk}",
                                    RISK_FACTORS[control.risk]],
                           "security-severity": SECURITY_SEVERITY[control.severity],
                           "precision": "high"}}
    links = [r for r in control.references if _is_link(r)]
    if links:
        rule["helpUri"] = links[0]
    return rule


def _summary(control):
    return (f"{control.title} (risk factor {control.risk}, {RISK_FACTORS[control.risk]}; "
            f"severity {control.severity}).")


def _help_text(control):
    references = f"\n\nReferences: {'; '.join(control.references)}" if control.references else ""
    return f"{control.remediation}{references}"


def _help_markdown(control):
    parts = XML_ELEMENT.split(control.remediation)
    remediation = "".join(f"`{p}`" if i % 2 else _escape(p) for i, p in enumerate(parts))
    lines = [f"**Remediation.** {remediation}", ""]
    if control.references:
        lines += ["**References**", ""]
        lines += [f"- <{r}>" if _is_link(r) else f"- {_escape(r)}" for r in control.references]
        lines.append("")
    lines.append(_escape(_summary(control)))
    return "\n".join(lines)


def _escape(text):
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", text)


def _is_link(reference):
    return re.fullmatch(r"https?://\S+", reference) is not None


def _location(template):
    path = PurePath(template)
    if path.is_absolute():
        return {"uri": path.as_uri()}
    return {"uri": quote(PurePosixPath(path).as_posix(), safe="/"), "uriBaseId": SOURCE_ROOT}


def _result(finding, rules, templates, catalog, seen):
    template = os.fspath(finding.template)
    if finding.control not in catalog:
        raise ValueError(f"a finding names control {finding.control}, which the catalog lacks")
    if template not in templates:
        raise ValueError(f"a finding names template {template}, which is not among the "
                         f"templates ({', '.join(templates)})")
    where = {"artifactLocation": {**_location(template), "index": templates.index(template)}}
    if finding.line is not None:
        where["region"] = {"startLine": finding.line}
    key = "\0".join((finding.control, template, finding.message))
    seen[key] += 1
    return {"ruleId": finding.control,
            "ruleIndex": rules.index(finding.control),
            "level": LEVELS[catalog[finding.control].severity],
            "message": {"text": finding.message},
            "locations": [{"physicalLocation": where}],
            "partialFingerprints": {
                FINGERPRINT: f"{hashlib.sha256(key.encode()).hexdigest()}:{seen[key]}"}}
