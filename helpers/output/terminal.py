"""The per-control table printed at the end of a run, from the run's document (controls.json).

    for line in lines(document, Path("reports")):
        if line.rule:
            terminalreporter.section(line.text, sep=line.rule)
        else:
            terminalreporter.write_line(line.text, **dict.fromkeys(line.markup, True))

The run's facts and feed warnings come first, then its hosts, each cell that did not run, each
control with one line of evidence, the framework's headings and the changes since a baseline
where the run has them, the gate's decision and where the report files are. This module returns
lines; the report plugin (helpers/plugin/report.py) writes them with pytest's terminal reporter,
which draws the colours and the section rules.
"""

from pathlib import Path
from typing import NamedTuple

from helpers.verdict import verdicts, waivers

RED = ("red", "bold")
GREEN = ("green",)
YELLOW = ("yellow",)
WARNING = ("yellow", "bold")
STATUS_MARKUP = {verdicts.PASS: GREEN, verdicts.MITIGATED: GREEN,
                 verdicts.NOT_APPLICABLE: YELLOW, verdicts.WAIVED: YELLOW}  # any other: RED
CHANGES = ("regressed", "fixed", "new", "gone", "changed")


class Line(NamedTuple):
    """A line of the table: its text, its terminal markup ("red", "bold" ...), and for a section
    heading the character its rule is drawn with."""
    text: str
    markup: tuple = ()
    rule: str | None = None


def lines(document, report_dir):
    """Every line of the table for `document`, naming the report files under `report_dir`."""
    found = [Line("vmiso controls", rule="=")]
    found += _run(document)
    found += _controls(document)
    if "framework" in document:
        found += _framework(document["framework"])
    if "baseline" in document:
        found += _baseline(document["baseline"])
    found += _gate(document)
    report_dir = Path(report_dir)
    found.append(Line(f"report: {report_dir / 'controls.json'}, {report_dir / 'report.html'}, "
                      f"{report_dir / 'junit.xml'}"))
    return found


def feed_warnings(document):
    """The OSV feed's age warnings of the run and of each of its cells, once each."""
    runs = [document["run"]] + [cell.get("run") or {} for cell in document.get("cells", ())]
    return list(dict.fromkeys(run["osv"]["warning"] for run in runs
                              if isinstance(run.get("osv"), dict) and run["osv"].get("warning")))


def summary_line(row):
    """One line of evidence for the table: the first failing observation, else the first one."""
    if row.get("waiver"):
        return f"{waivers.describe(row['waiver'])}; {_evidence_line(row)}"
    return _evidence_line(row)


def _run(document):
    """The run's facts and feed warnings, its hosts, and each cell that did not run."""
    found = [Line(f"{key}: {value}") for key, value in document["run"].items()]
    found += [Line(f"warning: {warning}", WARNING) for warning in feed_warnings(document)]
    found += [Line("host: " + ", ".join(f"{k} {v}" for k, v in host.items() if v))
              for host in document["hosts"]]
    found += [Line(f"cell {cell['template']} on {cell['host']}: {cell['message']}", RED)
              for cell in document["cells"] if cell["status"] != "ran"]
    return found


def _controls(document):
    several = len(document["cells"]) > 1
    found = []
    for row in document["controls"]:
        text = f"{row['id']:<7} {row['status'].upper():<9} {row['severity']:<8} {row['title']}"
        if several:
            text = f"{row['template']} on {row['host']}  {text}"
        found.append(Line(text, STATUS_MARKUP.get(row["status"], RED)))
        found.append(Line(f"        {summary_line(row)}"))
    return found


def _evidence_line(row):
    evidence = row["evidence"]
    bad = [e for e in evidence if not e["ok"]]
    if bad:
        e = bad[0]
        return f"[{e['vantage']}] {e['what']}: {e['observed']} (expected {e['expected']})"
    undecided = [c for c in row["checks"]
                 if c["verdict"] in (verdicts.ERROR, verdicts.NOT_APPLICABLE) and c["message"]]
    if row["status"] in (verdicts.ERROR, verdicts.NOT_APPLICABLE) and undecided:
        return f"[{undecided[0]['vantage']}] {undecided[0]['message']}"
    if evidence:
        vantages = sorted({c["vantage"] for c in row["checks"]
                           if c["verdict"] != verdicts.NOT_APPLICABLE})
        e = next((e for e in reversed(evidence) if e["vantage"] == "inside"), evidence[-1])
        return (f"{len(row['checks'])} checks ({', '.join(vantages)}); "
                f"[{e['vantage']}] {e['what']}: {e['observed']}")
    return "no evidence recorded"


def _framework(framework):
    found = [Line(f"framework {framework['name']}: {framework['title']}")]
    for heading in framework["headings"]:
        failing = [cid for cid, status in heading["controls"].items()
                   if status in verdicts.FAILING]
        controls = ", ".join(f"{cid} {status}" for cid, status in heading["controls"].items())
        found.append(Line(f"{heading['id']:<12} {heading['status'].upper():<9} "
                          f"{heading['title']}: {controls or 'none of its controls ran'}",
                          RED if failing else ()))
        if failing:
            found.append(Line(f"             failing: {', '.join(failing)}"))
    if framework["unmapped"]:
        found.append(Line(f"under no heading of {framework['name']}: "
                          f"{', '.join(framework['unmapped'])}"))
    return found


def _baseline(baseline):
    found = [Line(f"vmiso since {baseline['started']} ({baseline['path']})", rule="-")]
    for kind in CHANGES:
        changes = baseline[kind]
        found.append(Line(f"{kind}: {len(changes) or 'none'}",
                          RED if kind == "regressed" and changes else ()))
        found += [Line(f"    {change['control']:<7} {change['was'] or '-'} -> "
                       f"{change['now'] or '-'}  {change['title']} ({change['template']} "
                       f"on {change['host']})") for change in changes]
    return found


def _gate(document):
    """The gate's decision, and the controls it did not count (not applicable on this run)."""
    gate = document["gate"]
    if gate["blocking"]:
        found = [Line(f"gate (--fail-on {gate['fail_on']}): FAILED by "
                      f"{', '.join(gate['blocking'])}", RED)]
    else:
        found = [Line(f"gate (--fail-on {gate['fail_on']}): passed", GREEN)]
    unchecked = list(dict.fromkeys(row["id"] for row in document["controls"]
                                   if row["status"] == verdicts.NOT_APPLICABLE))
    if unchecked:
        found.append(Line(f"not checked on this run (not applicable, the gate does not count "
                          f"them): {', '.join(unchecked)}", YELLOW))
    return found
