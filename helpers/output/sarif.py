"""Static template findings as a SARIF 2.1.0 log, for code hosts to annotate the template's line.

    log = build(["templates/leaky.xml"], findings, catalog.load(), "0.6.0+3fe84d7a1b2c",
                source_root=Path("/srv/vms"))
    log["runs"][0]["results"][0]["ruleId"]          # "HV-01", at its finding's line
    log["runs"][0]["artifacts"][0]["location"]      # {"uri": "templates/leaky.xml",
                                                    #  "uriBaseId": "SRCROOT"}
    write(log, Path("reports/templates.sarif"))     # for github/codeql-action/upload-sarif

Each control passed in the catalog is a rule, in catalog order, whether it has findings or not:
rule indices then stay the same from run to run, and a clean log still says what was checked
(pass only the controls that the static analysis covers). GitHub code scanning reads the
rule's security-severity; its level follows the control's severity. A finding's fingerprint is
made of its control, template and message, not its line, so an element that moves is the same
alert. The format: https://docs.oasis-open.org/sarif/sarif/v2.1.0/ (errata 01).

With a source root (the repository's top level), every template is named by its path relative
to it, percent-encoded, with uriBaseId SRCROOT, and run.originalUriBaseIds gives SRCROOT's
absolute file:// URI (SARIF 3.14.14: ending in '/'); a template outside the root raises
OutsideSourceRoot. GitHub code scanning reads a relative uri as relative to the repository's root
and ignores originalUriBaseIds (docs.github.com, "SARIF support for code scanning", "Specifying the
root for source files"; github/codeql-action#2215), so the root must be the repository's top
level; a leading './' defeats it (github/codeql-action#2829), so none is written. Without a source
root, a relative path is written as given and an absolute one as a file:// URI.
"""

import hashlib
import json
import os
import re
from collections import Counter
from pathlib import Path, PurePath, PurePosixPath
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


class OutsideSourceRoot(ValueError):
    """A template that does not lie under the source root, so no relative URI can name it."""

    def __init__(self, template, root):
        super().__init__(f"template {template} is outside the source root {root}")
        self.template, self.root = template, root


def build(templates, findings, catalog, version, source_root=None):
    templates = list(dict.fromkeys(os.fspath(t) for t in templates))
    locations = {t: _location(t, source_root) for t in templates}
    rules = list(catalog)
    seen = Counter()
    results = [_result(f, rules, templates, locations, catalog, seen) for f in findings]
    driver = {"name": "vmiso", "semanticVersion": version, "version": version,
              "rules": [_rule(catalog[cid]) for cid in rules]}
    run = {"tool": {"driver": driver},
           "invocations": [{"executionSuccessful": True}],
           "artifacts": [{"location": locations[t]} for t in templates],
           "columnKind": "utf16CodeUnits",
           "results": results}
    if source_root is not None:
        run["originalUriBaseIds"] = {SOURCE_ROOT: {"uri": root_uri(source_root)}}
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def root_uri(source_root):
    """The source root's absolute file:// URI, ending in '/' as SARIF asks of a base."""
    uri = Path(os.path.abspath(source_root)).as_uri()
    return uri if uri.endswith("/") else uri + "/"


def relative_uri(template, source_root):
    """The template's path under the source root as a relative URI reference (POSIX,
    percent-encoded); OutsideSourceRoot when it is not under it. Both are taken as absolute
    paths, symbolic links in their folders followed where the plain paths do not match."""
    path, root = Path(os.path.abspath(template)), Path(os.path.abspath(source_root))
    if not path.is_relative_to(root):
        path, root = path.parent.resolve() / path.name, root.resolve()
    if path == root or not path.is_relative_to(root):
        raise OutsideSourceRoot(template, Path(os.path.abspath(source_root)))
    return quote(path.relative_to(root).as_posix(), safe="/")


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


def _location(template, source_root=None):
    if source_root is not None:
        return {"uri": relative_uri(template, source_root), "uriBaseId": SOURCE_ROOT}
    path = PurePath(template)
    if path.is_absolute():
        return {"uri": path.as_uri()}
    return {"uri": quote(PurePosixPath(path).as_posix(), safe="/"), "uriBaseId": SOURCE_ROOT}


def _result(finding, rules, templates, locations, catalog, seen):
    template = os.fspath(finding.template)
    if finding.control not in catalog:
        raise ValueError(f"a finding names control {finding.control}, which the catalog lacks")
    if template not in templates:
        raise ValueError(f"a finding names template {template}, which is not among the "
                         f"templates ({', '.join(templates)})")
    where = {"artifactLocation": {**locations[template], "index": templates.index(template)}}
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
