"""What a report opens on: the controls that fail, whose each is, and the fix that fits the run.

    for finding in failing(document):
        finding.row["id"], finding.owner, finding.why, finding.fix
    not_run(document)       # the rows of the controls the run did not reach
    folded(document)        # {"pass": [rows], "waived": [rows], ...}: the rest, by status

A failing control belongs to the host (its owner fixes it on the hypervisor host), to the
template, or to either (the catalog's `owner`). Where vmiso itself changed the template for the
throwaway guest (an adaptation: the host cannot apply an element), the failure is the
adaptation's: the fix is on the host that could not apply it, not in a template that already
has the element. A control vmiso could not decide (error, not run) is nobody's failure yet: the
line that stopped it is the fix.
"""

import json
import re
from typing import NamedTuple

from helpers.verdict import verdicts

# Failing first, worst first; then the rest in this order (folded in the report).
FAILING_ORDER = (verdicts.FAIL, verdicts.DRIFT, verdicts.ERROR, verdicts.NOT_RUN)
FOLDED_ORDER = (verdicts.WAIVED, verdicts.MITIGATED, verdicts.PASS, verdicts.NOT_APPLICABLE)
SEVERITY_ORDER = ("critical", "high", "medium", "low")
ADAPTATION = "vmiso's adaptation"
UNDECIDED = "undecided"


class Finding(NamedTuple):
    row: dict
    owner: str  # "host", "template", "host or template", ADAPTATION, UNDECIDED
    why: str  # for an adaptation, what vmiso changed; for undecided, what stopped it
    fix: str


def failing(document):
    """Each failing row of `document` that ran as a Finding, worst status and severity first
    (the rows the run did not reach: not_run())."""
    rows = [r for r in document["controls"] if r["status"] in FAILING_ORDER[:-1]]
    rows.sort(key=lambda r: (FAILING_ORDER.index(r["status"]),
                             _rank(SEVERITY_ORDER, r["severity"])))
    return [finding(row, _cell_run(document, row)) for row in rows]


def not_run(document):
    """The rows of the controls the run did not reach: a list of IDs tells them."""
    return [r for r in document["controls"] if r["status"] == verdicts.NOT_RUN]


def decided_blocking(document):
    """The gate's blocking controls a check decided: those not in not_run()."""
    unreached = {row["id"] for row in not_run(document)}
    return [cid for cid in document["gate"]["blocking"] if cid not in unreached]


def folded(document):
    """The rows that do not fail, by status, in FOLDED_ORDER."""
    found = {}
    for status in FOLDED_ORDER:
        rows = [r for r in document["controls"] if r["status"] == status]
        if rows:
            found[status] = rows
    return found


def finding(row, run):
    """Whose the failing `row` is and its fix, given the run facts of its cell."""
    if row["status"] in verdicts.UNDECIDED:
        stopped = next((c["message"] for c in row["checks"]
                        if c["verdict"] in verdicts.UNDECIDED and c["message"]), "")
        return Finding(row, UNDECIDED, stopped,
                       "fix what stopped the check (the line above), then run it again")
    if row["id"] in run.get("adapted_controls", ()):
        changes = "; ".join(_element_changes(run.get("adaptations") or (), row)) or \
            "see the run's adaptations"
        return Finding(row, ADAPTATION, changes,
                       "the template asks for it, and this host could not apply it: fix the "
                       "host so that it can (the change above says why it could not), or waive "
                       "the control for hosts of this kind")
    return Finding(row, row.get("owner") or "not recorded (an older report)", "",
                   row["remediation"])


def _element_changes(adaptations, row):
    """The adaptations that removed or changed an element (named <like-this>) the row's
    evidence speaks of, else every element change, else all: the machine-wide ones (the domain
    type under TCG) explain no single control."""
    elements = [a for a in adaptations if "<" in a]
    said = json.dumps([row.get("evidence", ()), row.get("checks", ())])
    named = [a for a in elements if any(tag in said for tag in re.findall(r"<(\w+)>", a))]
    return named or elements or list(adaptations)


def _cell_run(document, row):
    for cell in document.get("cells", ()):
        if (cell["host"], cell["template"]) == (row["host"], row["template"]):
            return cell.get("run") or {}
    return document.get("run") or {}


def _rank(order, value):
    return order.index(value) if value in order else len(order)
