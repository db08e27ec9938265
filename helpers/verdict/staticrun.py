"""Verdicts from a template file alone: the static run (`make check-templates`), for template
repositories whose CI has no libvirt, no KVM and no root.

    rows, located = judge(read(Path("templates/leaky.xml")), catalog.load(), allowed)
    rows[0]["status"]                  # 'fail': the same verdict a full run's XML check gives
    located[0].line                    # where the offending element is, for SARIF

Every control the XML decides gets the verdict of the full run's template check (the same rule,
the same evidence); every other control is not applicable with the reason "static run".
"""

import re
from dataclasses import dataclass

from helpers.template import rules
from helpers.verdict import verdicts
from helpers.verdict.evidence import Evidence

STATIC_RUN = "static run: only a live guest or host decides this control"
CHECK = "static::{}"
CONTAINERS = ("domain", "devices")  # the fallbacks, never a finding's own element


@dataclass(frozen=True)
class Located:
    """One finding and where its element is (line None: the file as a whole)."""
    template: str
    control: str
    message: str
    line: object


def judge(template, catalog, allowed):
    """(control rows as a full run's report has them, the findings located in the file)."""
    rows, located = [], []
    for cid, control in catalog.items():
        verdict, message, entries, found = _check(cid, template.domain, allowed)
        rows.append(_row(cid, control, verdict, message, entries))
        located += [Located(str(template.path), cid, f, _line(f, template)) for f in found]
    return rows, located


def _check(cid, dom, allowed):
    """(verdict, message, evidence entries, findings) of the control's template check."""
    if cid not in rules.XML_CONTROLS:
        return verdicts.NOT_APPLICABLE, STATIC_RUN, [], []
    try:
        what, found = rules.template_check(cid, dom, allowed)
    except rules.NotApplicable as why:
        return verdicts.NOT_APPLICABLE, str(why), [], []
    evidence = Evidence("outside")
    try:
        evidence.expect_none(what, found)
    except AssertionError as failed:
        return verdicts.FAIL, f"AssertionError: {failed}", evidence.entries, found
    return verdicts.PASS, "", evidence.entries, []


def _row(cid, control, verdict, message, entries):
    check = CHECK.format(cid)
    return {
        "id": cid, "title": control.title, "risk": control.risk, "severity": control.severity,
        "status": verdicts.aggregate([verdict]), "references": list(control.references),
        "remediation": control.remediation, "owner": control.owner, "duration_s": 0.0,
        "evidence": [dict(e.as_dict(), check=check) for e in entries],
        "checks": [{"check": check, "vantage": "outside", "declared": True, "verdict": verdict,
                    "message": message, "duration_s": 0.0}],
    }


def _line(finding, template):
    """The line of the element a finding is about (a Finding knows it; else the one its text
    names), else of <devices> (or <domain>); for an xl.cfg, the line of the setting that made
    the element. None where nothing is placed."""
    root = template.domain.root
    devices = root.find("devices")
    fallback = template.line_of(root if devices is None else devices)
    element = finding.element if isinstance(finding, rules.Finding) else \
        _named_element(finding, root)
    line = None if element is None else template.line_of(element)
    return fallback if line is None else line


def _named_element(finding, root):
    """The element the finding names (None when it names none), by score: its tag counts two;
    each attribute value of it or its children that the finding repeats one, and one more with
    the attribute's name (device='disk' on a <disk> restates the tag: nothing); two at least;
    on a tie, the tag the finding names first. "interface N" is the Nth <interface>."""
    ordinal = re.match(r"interface (\d+)", finding)
    interfaces = root.findall("devices/interface")
    if ordinal and int(ordinal.group(1)) <= len(interfaces):
        return interfaces[int(ordinal.group(1)) - 1]
    words = set(re.findall(r"[\w.:/-]+", finding))
    best, named = (1, 0), None
    for element in root.iter():
        name = element.tag.rpartition("}")[2]
        if name in CONTAINERS:
            continue
        tag = re.search(rf"\b{re.escape(name)}\b", finding)
        pairs = {(k, v) for e in [element, *element] for k, v in e.attrib.items() if v != name}
        repeated = sum((v in words) * (1 + (k in words)) for k, v in pairs)
        score = (2 * bool(tag) + repeated, -tag.start() if tag else -len(finding))
        if score > best:
            best, named = score, element
    return named
