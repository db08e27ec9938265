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

XML_CONTROLS = {**rules.STATIC, **rules.WITH_ALLOWLIST}
STATIC_RUN = "static run: only a live guest or host decides this control"
CHECK = "static::{}"


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
    if cid not in XML_CONTROLS:
        return verdicts.NOT_APPLICABLE, STATIC_RUN, [], []
    try:
        found = rules.judge(cid, dom, allowed)
    except rules.NotDecided as why:
        return verdicts.NOT_APPLICABLE, f"the template cannot decide {cid}: {why}", [], []
    evidence = Evidence("outside")
    try:
        evidence.expect_none(f"template: {XML_CONTROLS[cid].__doc__}", found)
    except AssertionError as failed:
        return verdicts.FAIL, f"AssertionError: {failed}", evidence.entries, found
    return verdicts.PASS, "", evidence.entries, []


def _row(cid, control, verdict, message, entries):
    check = CHECK.format(cid)
    return {
        "id": cid, "title": control.title, "risk": control.risk, "severity": control.severity,
        "status": verdicts.aggregate([verdict]), "references": list(control.references),
        "remediation": control.remediation, "duration_s": 0.0,
        "evidence": [dict(e.as_dict(), check=check) for e in entries],
        "checks": [{"check": check, "vantage": "outside", "declared": True, "verdict": verdict,
                    "message": message, "duration_s": 0.0}],
    }


def _line(finding, template):
    """The line of the element a finding names: the one whose tag the finding mentions and
    whose attribute values it repeats most (the Nth <interface> where it says "interface N");
    the <devices> or <domain> line when none is named; None for an xl.cfg."""
    if not template.lines:
        return None
    root = template.domain.root
    words = set(re.findall(r"[\w.:/-]+", finding))
    ordinal = re.match(r"interface (\d+)", finding)
    if ordinal:
        interfaces = root.findall("devices/interface")
        index = int(ordinal.group(1)) - 1
        if index < len(interfaces):
            return template.line_of(interfaces[index])
    devices = root.find("devices")
    best, line = 0, template.line_of(root if devices is None else devices)
    for element in root.iter():
        tag = element.tag.rpartition("}")[2]
        if not re.search(rf"\b{re.escape(tag)}\b", finding):
            continue
        score = 1 + len({v for e in element.iter() for v in e.attrib.values()} & words)
        if score > best:
            best, line = score, template.line_of(element)
    return line
