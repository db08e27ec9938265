"""Each control's row of the report: its checks' results aggregated into the control's verdict,
with its catalog entry and its active waiver.

    rows(catalog, checks, adapted=("ESC-06",), waivers={})
    # [{"id": "HV-01", "status": "pass", "owner": "template", "checks": [...], ...}, ...]

A check result is the dict the report plugin records for a check: check (its node id),
controls, vantage, declared (whether it reads the template as declared), verdict, message,
duration_s and evidence. Controls that no check of the run tested have no row.
"""

from helpers.verdict import verdicts

CHECK_FIELDS = ("check", "vantage", "declared", "verdict", "message", "duration_s")


def undecided_check(check, controls, verdict, message):
    """The result of a check that never ran its own code (the run or its cell ended first):
    `verdict` (error, not_run) for `controls`, saying `message`."""
    return {"check": check, "controls": list(controls), "vantage": "outside", "declared": False,
            "verdict": verdict, "message": message, "duration_s": 0.0, "evidence": []}


def rows(catalog, checks, adapted=(), waivers=None):
    """The rows of every control of `catalog` that `checks` tested, in catalog order;
    `adapted`: the controls vmiso's own adaptations changed for the throwaway guest."""
    waivers = waivers or {}
    return [_row(control, tested, cid in adapted, waivers.get(cid))
            for cid, control in catalog.items()
            if (tested := [c for c in checks if cid in c["controls"]])]


def _row(control, checks, adapted, waiver):
    status = status_of(control, checks, adapted)
    row = {
        "id": control.id, "title": control.title, "risk": control.risk,
        "severity": control.severity,
        "status": verdicts.after_waiver(status, waiver is not None and waiver.active),
        "references": list(control.references), "remediation": control.remediation,
        "owner": control.owner,
        "duration_s": round(sum(c["duration_s"] for c in checks), 3),
        "evidence": [dict(e, check=c["check"]) for c in checks for e in c["evidence"]],
        "checks": [{k: c[k] for k in CHECK_FIELDS} for c in checks],
    }
    if waiver is not None and status in (verdicts.FAIL, verdicts.DRIFT):
        row["waiver"] = waiver.as_dict()
    return row


def status_of(control, checks, adapted):
    """Drift applies where the template and the running guest describe the same fact, and
    vmiso's own adaptations did not change it for the throwaway guest."""
    if not control.mirrored or adapted:
        return verdicts.aggregate([c["verdict"] for c in checks])
    return verdicts.control_verdict([c["verdict"] for c in checks if c["declared"]],
                                    [c["verdict"] for c in checks if not c["declared"]])
