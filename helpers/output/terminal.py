"""The report printed at the end of a run, from the run's document (controls.json).

    for line in lines(document, Path("reports")):
        if line.rule:
            terminalreporter.section(line.text, sep=line.rule)
        else:
            terminalreporter.write_line(line.text, **dict.fromkeys(line.markup, True))

It opens on what failed: each cell that did not run to its end, then each failing control with
whose it is, one line of evidence and the fix (helpers/output/findings.py); the controls that
pass are folded into a line per status. Then the run's facts and feed warnings, its hosts, the
framework's headings and the changes since a baseline where the run has them, and last the
gate's decision counted in controls and where the report files are. This module returns lines;
the report plugin (helpers/plugin/report.py) writes them with pytest's terminal reporter, which
draws the colours and the section rules.
"""

from pathlib import Path
from typing import NamedTuple

from helpers.output import document as document_mod
from helpers.output import findings
from helpers.verdict import verdicts, waivers

RED = ("red", "bold")
GREEN = ("green",)
YELLOW = ("yellow",)
WARNING = ("yellow", "bold")
STATUS_MARKUP = {verdicts.PASS: GREEN, verdicts.MITIGATED: GREEN,
                 verdicts.NOT_APPLICABLE: YELLOW, verdicts.WAIVED: YELLOW}  # any other: RED
CHANGES = ("regressed", "fixed", "new", "gone", "changed")
INDENT = " " * 8


class Line(NamedTuple):
    """A line of the table: its text, its terminal markup ("red", "bold" ...), and for a section
    heading the character its rule is drawn with."""
    text: str
    markup: tuple = ()
    rule: str | None = None


def lines(document, report_dir):
    """Every line of the report for `document`, naming the report files under `report_dir`."""
    found = [Line("vmiso controls", rule="=")]
    found += _ended_early(document)
    found += _failing(document)
    found += _folded(document)
    found += _run(document)
    if "framework" in document:
        found += _framework(document["framework"])
    if "baseline" in document:
        found += _baseline(document["baseline"])
    found += _gate(document)
    report_dir = Path(report_dir)
    found.append(Line(f"report: {report_dir / 'report.html'} (also controls.json, junit.xml "
                      f"there)"))
    found.append(_verdict_line(document))
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
    """The run's facts and feed warnings, and its hosts."""
    found = [Line("run", rule="-")]
    found += [Line(f"{key}: {value}") for key, value in document["run"].items()]
    found += [Line(f"warning: {warning}", WARNING) for warning in feed_warnings(document)]
    found += [Line("host: " + ", ".join(f"{k} {v}" for k, v in host.items() if v))
              for host in document["hosts"] if any(host.values())]
    return found


def _ended_early(document):
    return [Line(f"{cell['template']} on {cell['host'] or 'the host'}: "
                 f"{cell['message'] or cell['status'].replace('_', ' ')}", RED)
            for cell in document["cells"] if cell["status"] != document_mod.RAN]


def _failing(document):
    """Each failing control: its line, whose it is, its evidence and its fix."""
    several = len(document["cells"]) > 1
    found = []
    for finding in findings.failing(document):
        row = finding.row
        found.append(Line(_row_text(row, several), RED))
        owner = finding.owner + (f": {finding.why}" if finding.why else "")
        if finding.owner != findings.UNDECIDED:
            found += _wrapped(f"owner: {owner}")
            found += _wrapped(f"evidence: {summary_line(row)}")
        else:
            found += _wrapped(f"stopped: {finding.why or summary_line(row)}")
        found += _wrapped(f"fix: {finding.fix}")
    not_run = findings.not_run(document)
    if not_run:
        found += [Line(f"NOT RUN ({len(not_run)}):", RED)]
        found += _wrapped(", ".join(_ids(not_run, several)))
    return found


def _folded(document):
    """The controls that do not fail, a line per status."""
    found = []
    several = len(document["cells"]) > 1
    for status, rows in findings.folded(document).items():
        ids = ", ".join(_ids(rows, several))
        found.append(Line(f"{status.upper().replace('_', ' ')} ({len(rows)}): {ids}",
                          STATUS_MARKUP.get(status, ())))
        if status == verdicts.WAIVED:  # a failure accepted: by whom and until when
            found += [line for row in rows
                      for line in _wrapped(f"{row['id']}: {summary_line(row)}")]
    return found


def _ids(rows, several):
    """Each control's ID once; over several cells, with the number of cells where more."""
    counts = {}
    for row in rows:
        counts[row["id"]] = counts.get(row["id"], 0) + 1
    return [f"{cid} ({n} cells)" if several and n > 1 else cid for cid, n in counts.items()]


def _row_text(row, several):
    text = f"{row['id']:<7} {row['status'].upper():<9} {row['severity']:<8} {row['title']}"
    return f"{row['template']} on {row['host']}  {text}" if several else text


def _wrapped(text):
    """One indented line, however long: the terminal folds it, and grep finds it whole."""
    return [Line(INDENT + text)]


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
    if document_mod.gate_passed(document):
        found = [Line(f"gate (--fail-on {gate['fail_on']}): passed", GREEN)]
    else:
        found = [Line(f"gate (--fail-on {gate['fail_on']}): FAILED {_why_failed(document)}",
                      RED)]
    unchecked = list(dict.fromkeys(row["id"] for row in document["controls"]
                                   if row["status"] == verdicts.NOT_APPLICABLE))
    if unchecked:
        found.append(Line(f"not checked on this run (not applicable, the gate does not count "
                          f"them): {', '.join(unchecked)}", YELLOW))
    return found


def _why_failed(document):
    """'by HV-01, NET-02; 12 controls not run', or why a run with nothing blocking failed."""
    not_run = {row["id"] for row in findings.not_run(document)}
    decided = findings.decided_blocking(document)
    said = [f"by {', '.join(decided)}"] if decided else []
    said += [f"{len(not_run)} controls not run"] if not_run else []
    return "; ".join(said) or "(the run did not run to its end)"


def _verdict_line(document):
    """The last line: the gate, counted in controls."""
    rows = document["controls"]
    failing = sum(row["status"] in verdicts.FAILING for row in rows)
    cells = len(document["cells"])
    counted = f"{failing} of {len(rows)} controls" + (f" over {cells} cells" if cells > 1 else "")
    fail_on = document["gate"]["fail_on"]
    if document_mod.gate_passed(document):
        return Line(f"vmiso: gate passed (fail on {fail_on}): {counted} fail", GREEN)
    return Line(f"vmiso: gate FAILED (fail on {fail_on}): {counted} fail or were not decided, "
                f"{len(document['gate']['blocking'])} block", RED)
