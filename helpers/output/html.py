"""The HTML report, reports/report.html: one self-contained page rendered from the document.

    write(document, Path("reports/report.html"))
    page = render(document)   # the same page as a string

The page is what a person opens from CI artifacts to see why a run failed the gate: the verdict
first, then the matrix of cells (a row per template, a column per host), each cell the count of
its failing controls and a link to its section; the run's facts, counts by risk factor and
severity, what changed since a baseline; then a section per cell with a row per control, its
evidence, checks and remediation one click away (open already for failing controls) and, with
--history, a strip of its statuses over the last runs and since when it has failed. It loads
nothing: inline CSS and SVG, no script, a Content-Security-Policy that forbids fetching
anything. Every string from the document is escaped, since evidence comes from guests and hosts.

Anchors: a cell's section is "<template>@<host>"; a control's row is its ID in a document of one
cell, "<ID>@<template>@<host>" in one of several (see anchor()).
"""

import functools
import html
import json
from pathlib import Path

from helpers.output import document as document_mod
from helpers.output import findings
from helpers.verdict import verdicts
from helpers.verdict.catalog import SEVERITIES

# Failing first: the columns and counts a reader looks for.
STATUSES = (verdicts.FAIL, verdicts.DRIFT, verdicts.ERROR, verdicts.NOT_RUN, verdicts.WAIVED,
            verdicts.MITIGATED, verdicts.PASS, verdicts.NOT_APPLICABLE)
CHANGES = ("regressed", "fixed", "new", "gone", "changed")
STEP, HEIGHT = 8, 14  # the history strip: a bar 6 px wide every 8 px

CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; background: #fff; }
h1 { margin: 0 0 .3em; font-size: 1.6em; }
h2 { margin: 1.5em 0 .5em; font-size: 1.25em; border-bottom: 1px solid #ccc; }
h3 { margin: 1em 0 .3em; font-size: 1.05em; }
table { border-collapse: collapse; margin: .3em 0; }
th, td { border: 1px solid #ddd; padding: .25em .5em; text-align: left; vertical-align: top; }
td { overflow-wrap: anywhere; }
th { background: #f3f3f3; overflow-wrap: normal; white-space: nowrap; }
td.n { text-align: right; }
td.n, td.k { white-space: nowrap; }
td table { width: 100%; }
.text { white-space: pre-wrap; }
.facts th { background: none; border: none; padding-right: 1em; white-space: nowrap; }
.facts td { border: none; }
.verdict { font-size: 1.3em; font-weight: bold; padding: .4em .7em; margin: .3em 0 .8em; }
.verdict.failed { background: #b71c1c; color: #fff; }
.verdict.passed { background: #2e7d32; color: #fff; }
.verdict a { color: inherit; }
.badge { display: inline-block; padding: 0 .45em; border-radius: 3px; font-weight: bold;
         white-space: nowrap; border: 2px solid transparent; }
.s-pass, .s-mitigated { background: #2e7d32; color: #fff; }
.s-waived { background: #f9a825; color: #222; }
.s-not_applicable { background: #9e9e9e; color: #fff; }
.s-fail, .s-drift { background: #c62828; color: #fff; }
/* error: the suite could not decide; striped so it is not read as a plain fail */
.s-error { background: repeating-linear-gradient(45deg, #c62828 0 5px, #7f0000 5px 10px);
           color: #fff; border-color: #7f0000; }
.s-not_run { background: #fff; color: #7f0000; border-color: #7f0000; border-style: dashed; }
.findings { margin: 0 0 1em; padding: 0; list-style: none; }
.findings li { border-left: 6px solid #c62828; background: #fdecea; margin: 0 0 .5em;
               padding: .35em .7em; }
.findings .owner { font-weight: bold; }
.findings .fix { display: block; }
.findings .evidence { display: block; color: #444; }
.matrix td.cell { padding: 0; text-align: center; min-width: 7em; }
.matrix td.cell a { display: block; padding: .5em .8em; color: inherit; text-decoration: none; }
.matrix .count { font-size: 1.4em; font-weight: bold; }
.cell.c-pass { background: #2e7d32; color: #fff; }
.cell.c-fail { background: #c62828; color: #fff; }
.cell.c-error { background: repeating-linear-gradient(45deg, #c62828 0 5px, #7f0000 5px 10px);
                color: #fff; border: 2px solid #7f0000; }
.cell.c-none { color: #777; text-align: center; }
.broken { border-left: 6px solid #7f0000; padding: .3em .6em; background: #fdecea; }
.warning { color: #8a5300; font-weight: bold; }
.strip { vertical-align: middle; }
.strip .s-pass, .strip .s-mitigated { fill: #2e7d32; }
.strip .s-waived { fill: #f9a825; }
.strip .s-not_applicable { fill: #9e9e9e; }
.strip .s-fail, .strip .s-drift { fill: #c62828; }
.strip .s-error { fill: #7f0000; }
.strip .s-not_run { fill: #fff; stroke: #7f0000; }
.strip .s-none { fill: none; stroke: #9e9e9e; }
.since { color: #b71c1c; font-weight: bold; white-space: nowrap; margin-left: .4em; }
.controls { width: 100%; }
.controls > tbody > tr:first-child > td { border-top: 2px solid #bbb; }
.controls > tbody.failing > tr:first-child { background: #fdecea; }
.controls > tbody > tr.more > td { border-top: none; padding-left: 2em; }
.controls td.id { white-space: nowrap; font-weight: bold; }
tr.bad { background: #fdecea; }
tr.bad td.ok { color: #b71c1c; font-weight: bold; }
.regressed { border: 3px solid #b71c1c; padding: 0 .8em .5em; background: #fff5f5; }
.regressed h3 { color: #b71c1c; }
.expired { color: #b71c1c; font-weight: bold; }
summary { cursor: pointer; color: #444; }
"""


def render(document):
    """The whole page for one report document (format vmiso-controls/2), as a string."""
    cells = _cells(document)
    several = len(cells) > 1
    trend = _trend(document)
    # what a morning reader looks for first: the gate, the matrix, what changed overnight
    parts = [_head(document), "<h1>vmiso report</h1>", _gate(document, several),
             _ended_early(document), _findings(document, several), _matrix(document, cells)]
    if "baseline" in document:
        parts.append(_baseline(document["baseline"], document["controls"], several))
    parts += [_header(document), _summary(document)]
    if "framework" in document:
        parts.append(_framework(document["framework"], several))
    entries = {(c["host"], c["template"]): c for c in document["cells"]}
    parts += [_section(key, rows, entries.get(key), several, trend)
              for key, rows in cells.items()]
    parts.append("</body>\n</html>\n")
    return "\n".join(parts)


def write(document, path):
    """Write the page to `path` (a str or Path), UTF-8."""
    Path(path).write_text(render(document), encoding="utf-8")


def esc(value):
    """Any value as escaped text; None (a fact the run never learnt) as a dash."""
    return "\u2014" if value is None else html.escape(str(value), quote=True)


def anchor(control_id, template, host, several):
    """The id of a control's rows in the page: its ID alone in a document of one cell, else
    "<ID>@<template>@<host>"."""
    if not several:
        return control_id
    return f"{control_id}@{cell_anchor(template, host)}"


def cell_anchor(template, host):
    """The id of a cell's section: "<template>@<host>"."""
    return f"{_slug(template)}@{_slug(host)}"


def _slug(text):
    # Characters a browser may rewrite in a #fragment (space, %, #, ...) and the '@' that joins
    # the parts become ~hex~, so every (ID, template, host) has its own id and its links work.
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.:/") else f"~{ord(ch):x}~"
                   for ch in str(text or ""))


def _head(document):
    verdict = "GATE PASSED" if document_mod.gate_passed(document) else "GATE FAILED"
    if _is_static(document):
        what = f"static run of {document['template']['path']}"
    else:
        what = ", ".join(_templates(document)) + " on " + \
            ", ".join(_host_name(h) for h in _columns(document))
    # default-src 'none': the page may fetch nothing, whatever a string in it says.
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta http-equiv=\"Content-Security-Policy\" "
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>vmiso report: {esc(what)}: {verdict}</title>\n"
        f"<style>{CSS}</style>\n</head>\n<body>"
    )


def _facts(rows):
    cells = "".join(f"<tr><th>{esc(name)}</th><td>{value}</td></tr>\n" for name, value in rows)
    return f"<table class=\"facts\">\n{cells}</table>"


def _file(entry):
    digest = entry.get("sha256")
    short = "\u2014" if digest is None else f"sha256 {esc(digest[:12])}\u2026"
    return f"{esc(entry.get('path'))} <span title=\"{esc(digest)}\">({short})</span>"


def _hosts(document):
    """The hosts' facts (documents of one host may predate the hosts list)."""
    return document.get("hosts") or [document.get("host") or {}]


def _host_name(host):
    return "unknown host" if host is None else host


def _templates(document):
    """Template names, one per matrix row: the run's order, then any only a cell or row names."""
    names = [t["name"] for t in document["templates"]] + \
        [c["template"] for c in document["cells"]] + [r["template"] for r in document["controls"]]
    return list(dict.fromkeys(names))


def _columns(document):
    """Hosts as the rows name them, one per matrix column, in the order of the hosts' facts."""
    given = [h[key] for h in _hosts(document) for key in ("name", "uri") if h.get(key)]
    seen = list(dict.fromkeys([c["host"] for c in document["cells"]]
                              + [r["host"] for r in document["controls"]]))
    return sorted(seen, key=lambda h: given.index(h) if h in given else len(given))


def _cells(document):
    """(host, template) -> its control rows, in matrix order (template by template)."""
    rows = {(c["host"], c["template"]): [] for c in document["cells"]}
    for row in document["controls"]:
        rows.setdefault((row["host"], row["template"]), []).append(row)
    hosts = _columns(document)
    return {(host, template): rows[host, template] for template in _templates(document)
            for host in hosts if (host, template) in rows}


def _gate(document, several):
    gate = document["gate"]
    blocking = gate["blocking"]
    if not blocking and document_mod.gate_passed(document):
        return (f"<p class=\"verdict passed\">GATE PASSED: no blocking control "
                f"(fail on {esc(gate['fail_on'])})</p>")
    not_run = {row["id"] for row in findings.not_run(document)}
    blocking = findings.decided_blocking(document)
    skipped = f"; {len(not_run)} controls not run" if not_run else ""
    if not blocking:
        return (f"<p class=\"verdict failed\">GATE FAILED: the run did not run to its end"
                f"{skipped}</p>")
    first = {}
    for where in gate.get("blocking_cells", []):
        first.setdefault(where["control"], anchor(where["control"], where["template"],
                                                  where["host"], several))
    links = ", ".join(f"<a href=\"#{esc(first.get(c, c))}\">{esc(c)}</a>" for c in blocking)
    cells = len({(w["host"], w["template"]) for w in gate.get("blocking_cells", [])})
    where = f" on {cells} cells" if cells > 1 else ""
    return (f"<p class=\"verdict failed\">GATE FAILED: {len(blocking)} blocking "
            f"control{'s' if len(blocking) != 1 else ''}{where} "
            f"(fail on {esc(gate['fail_on'])}): {links}{skipped}</p>")


def _cell_state(failing, broken):
    """A matrix cell's colour: "pass" (none failing), "fail", or "error" when it is broken or
    only errors fail."""
    if broken or (failing and all(r["status"] in verdicts.UNDECIDED for r in failing)):
        return "error"
    return "fail" if failing else "pass"


def _matrix(document, cells):
    entries = {(c["host"], c["template"]): c for c in document["cells"]}
    hosts = _columns(document)
    head = "".join(f"<th>{esc(_host_name(h))}</th>" for h in hosts)
    body = []
    for template in _templates(document):
        tds = "".join(_matrix_cell(template, host, entries.get((host, template)),
                                   cells.get((host, template))) for host in hosts)
        body.append(f"<tr><th>{esc(template)}</th>{tds}</tr>")
    return (f"<table class=\"matrix\" id=\"matrix\">\n<tr><th>template \\ host</th>{head}</tr>\n"
            + "\n".join(body) + "\n</table>")


def _matrix_cell(template, host, entry, rows):
    if rows is None:
        return "<td class=\"cell c-none\">not run</td>"
    failing = [r for r in rows if r["status"] in verdicts.FAILING]
    broken = entry is not None and entry["status"] != document_mod.RAN
    state = entry["status"].replace("_", " ") if broken else ""
    label = f"{esc(template)} on {esc(_host_name(host))}: {len(failing)} of {len(rows)} " \
        "failing" + (f"; {esc(state)}: {esc(entry['message'])}" if broken else "")
    text = f"<span class=\"count\">{len(failing)}</span> failing" + \
        (f" ({esc(state)})" if broken else "")
    return (f"<td class=\"cell c-{_cell_state(failing, broken)}\" title=\"{label}\">"
            f"<a href=\"#{esc(cell_anchor(template, host))}\">{text}</a></td>")


def _is_static(document):
    return document.get("run", {}).get("mode") == "static"


def _header(document):
    static = _is_static(document)
    rows = [("run", "static: the template file alone; no host, no guest (vmiso check-templates)")] \
        if static else []
    rows += [
        ("vmiso", esc(document["vmiso_version"])),
        ("started", esc(document["started"])),
        ("finished", esc(document["finished"])),
        ("duration", _seconds(document["duration_s"])),
        ("hypothesis seed", esc(document["hypothesis_seed"])),
        ("fail on", esc(document["gate"]["fail_on"])),
    ]
    if static:
        rows = [row for row in rows if row[0] != "hypothesis seed"]
    if "shard" in document:
        rows.append(("shard", esc(document["shard"])))
    if "history" in document:
        runs = document["history"]["runs"]
        rows.append(("history", f"{len(runs)} runs since {esc(runs[0]['started'])} in "
                                f"{esc(document['history']['dir'])}"))
    run = document.get("run", {})
    if run.get("template_refused"):
        rows.append(("template refused", f"<span class=\"text\">"
                                         f"{esc(run['template_refused'])}</span>"))
    if run.get("guest_stalled"):
        rows.append(("guest did not boot", f"<span class=\"text\">"
                                           f"{esc(run['guest_stalled'])}</span>"))
    feeds = [run.get("osv")] + [(c.get("run") or {}).get("osv") for c in document.get("cells", ())]
    feeds = list({json.dumps(f, sort_keys=True): f for f in feeds if isinstance(f, dict)}.values())
    if feeds:
        rows.append(("OSV feed", "<br>".join(_feed(f) for f in feeds)))
    if run.get("adaptations"):
        rows.append(("adaptations", "<br>".join(f"<span class=\"text\">{esc(a)}</span>"
                                                for a in run["adaptations"])))
    parts = ["<h2>Run</h2>", _facts(rows)]
    if not static:
        parts.append(_host_table(document))
    parts.append(_template_table(document, static))
    return "\n".join(parts)


def _feed(facts):
    text = (f"{esc(facts.get('feed'))}: {esc(facts.get('records'))} records, newest "
            f"{esc(facts.get('date'))}")
    if facts.get("warning"):
        text += f"<br><span class=\"warning\">{esc(facts['warning'])}</span>"
    return text


def _host_table(document):
    keys = ("name", "uri", "distribution", "kernel", "qemu", "libvirt", "accelerator")
    head = "".join(f"<th>{'host' if k == 'name' else k}</th>" for k in keys)
    rows = "".join("<tr>" + "".join(f"<td>{esc(h.get(k))}</td>" for k in keys) + "</tr>\n"
                   for h in _hosts(document))
    return f"<table class=\"hosts\">\n<tr>{head}</tr>\n{rows}</table>"


def _template_table(document, static):
    rows = "".join(f"<tr><td>{esc(t['name'])}</td><td>{_file(t)}</td>"
                   + ("" if static else f"<td>{_file(t.get('image') or {})}</td>") + "</tr>\n"
                   for t in document["templates"])
    head = "<th>template</th><th>file</th>" + ("" if static else "<th>image</th>")
    return f"<table class=\"templates\">\n<tr>{head}</tr>\n{rows}</table>"


def _seconds(value):
    if value < 60:
        return f"{value:.2f}\u00a0s"
    return f"{int(value // 60)}\u00a0min {value % 60:.0f}\u00a0s"


def _badge(status):
    return f"<span class=\"badge s-{esc(status)}\">{esc(status)}</span>"


def _counts_table(label, rows, counts):
    """`rows`: (key, heading) pairs, `counts`: key -> {status: count}."""
    statuses = [s for s in STATUSES if any(s in counts.get(key, {}) for key, _ in rows)]
    head = "".join(f"<th>{_badge(s)}</th>" for s in statuses)
    body = []
    for key, heading in rows:
        row = counts.get(key, {})
        cells = "".join(f"<td class=\"n\">{esc(row.get(s, ''))}</td>" for s in statuses)
        body.append(f"<tr><th>{heading}</th>{cells}<td class=\"n\">{sum(row.values())}</td></tr>")
    return (f"<table>\n<tr><th>{esc(label)}</th>{head}<th>total</th></tr>\n"
            + "\n".join(body) + "\n</table>")


def _summary(document):
    summary = document["summary"]
    names = {str(c["risk"]): c.get("risk_factor", "") for c in document["controls"]}
    risks = sorted(summary["by_risk"], key=int)
    by_risk = [(r, f"{esc(r)} {esc(names.get(r, ''))}") for r in risks]
    by_severity = [(s, esc(s)) for s in SEVERITIES if s in summary["by_severity"]]
    by_status = summary["by_status"]
    total = ", ".join(f"{esc(by_status[s])} {esc(s)}" for s in STATUSES if s in by_status)
    return (f"<h2>Summary</h2>\n<p>{esc(summary['total'])} controls: {total or 'none'}</p>\n"
            + _counts_table("risk factor", by_risk, summary["by_risk"]) + "\n"
            + _counts_table("severity", by_severity, summary["by_severity"]))


def _framework(framework, several):
    """The run's controls under a framework's headings, each control linked to its row."""
    rows = []
    for heading in framework["headings"]:
        controls = ", ".join(
            (f"<a href=\"#{esc(cid)}\">{esc(cid)}</a> {_badge(status)}" if not several
             else f"{esc(cid)} {_badge(status)}")
            for cid, status in heading["controls"].items()) or "none of its controls ran"
        rows.append(f"<tr><th>{esc(heading['id'])}</th><td>{esc(heading['title'])}</td>"
                    f"<td>{_badge(heading['status'])}</td><td>{controls}</td></tr>")
    unmapped = (f"<p>Under no heading: {esc(', '.join(framework['unmapped']))}</p>"
                if framework["unmapped"] else "")
    return (f"<h2 id=\"framework\">{esc(framework['title'])}</h2>\n"
            f"<p class=\"source\">{esc(framework['source'])}</p>\n<table>\n"
            f"<tr><th>requirement</th><th>title</th><th>status</th><th>controls</th></tr>\n"
            + "\n".join(rows) + f"\n</table>\n{unmapped}")


def _changes(name, changes, shown, several):
    """`shown`: the (host, template, ID) of every row on the page, the ones a change links to."""
    if not changes:
        return f"<h3>{name}</h3>\n<p>none</p>"
    rows = "".join(
        f"<tr><td>{esc(c['host'])}</td><td>{esc(c['template'])}</td>"
        f"<td>{_change_link(c, shown, several)}</td><td>{esc(c['title'])}</td>"
        f"<td>{esc(c['severity'])}</td>"
        f"<td>{_status_or_dash(c['was'])} \u2192 {_status_or_dash(c['now'])}</td></tr>\n"
        for c in changes)
    return (f"<h3>{name} ({len(changes)})</h3>\n<table>\n<tr><th>host</th><th>template</th>"
            f"<th>control</th><th>title</th><th>severity</th><th>was \u2192 now</th></tr>\n"
            f"{rows}</table>")


def _change_link(change, shown, several):
    if (change["host"], change["template"], change["control"]) not in shown:
        return esc(change["control"])  # gone: no row on the page
    target = anchor(change["control"], change["template"], change["host"], several)
    return f"<a href=\"#{esc(target)}\">{esc(change['control'])}</a>"


def _status_or_dash(status):
    return "\u2014" if status is None else _badge(status)


def _baseline(baseline, controls, several):
    shown = {(c["host"], c["template"], c["id"]) for c in controls}
    heading = f"Since {esc(baseline['started'])} ({esc(baseline['path'])})"
    regressed = _changes("regressed", baseline["regressed"], shown, several)
    others = [_changes(name, baseline[name], shown, several) for name in CHANGES[1:]]
    return "\n".join([f"<h2 id=\"baseline\">{heading}</h2>",
                      f"<div class=\"regressed\">\n{regressed}\n</div>"] + others)


def _trend(document):
    """The history's run dates and its entries by (host, template, ID); None without one."""
    history = document.get("history")
    if not history:
        return None
    return {"dates": [run["started"] for run in history["runs"]],
            "by_key": {(c["host"], c["template"], c["control"]): c
                       for c in history["controls"]}}


def _section(key, rows, entry, several, trend):
    host, template = key
    parts = [f"<section id=\"{esc(cell_anchor(template, host))}\" class=\"cell-section\">",
             f"<h2>{esc(template)} on {esc(_host_name(host))}</h2>"]
    if entry is not None and entry["status"] != document_mod.RAN:
        parts.append(_cell_ended(entry))
    failing = [r for r in rows if r["status"] in verdicts.FAILING]
    passing = [r for r in rows if r["status"] not in verdicts.FAILING]
    if failing:
        parts.append(_controls(failing, several, trend))
    if passing:
        counts = ", ".join(f"{n} {s.replace('_', ' ')}" for s in STATUSES
                           if (n := sum(r["status"] == s for r in passing)))
        parts.append(f"<details class=\"passing\"><summary>{len(passing)} controls that do "
                     f"not fail ({counts})</summary>\n{_controls(passing, several, trend)}\n"
                     f"</details>")
    parts.append("</section>")
    return "\n".join(parts)


def _cell_ended(entry):
    exit_status = ("" if entry["exit_status"] is None
                   else f" (exit status {esc(entry['exit_status'])})")
    return (f"<p class=\"broken\">{esc(entry['status'].replace('_', ' '))}{exit_status}: "
            f"<span class=\"text\">{esc(entry['message'])}</span></p>")


def _ended_early(document):
    """Each cell that did not run to its end, and why, above everything else."""
    return "\n".join(f"<p class=\"broken\"><strong>{esc(c['template'])} on "
                     f"{esc(_host_name(c['host']))}</strong>: <span class=\"text\">"
                     f"{esc(c['message'] or c['status'].replace('_', ' '))}</span></p>"
                     for c in document["cells"] if c["status"] != document_mod.RAN)


def _findings(document, several):
    """What failed, worst first: each with whose it is, its evidence and the fix."""
    items = []
    for found in findings.failing(document):
        row = found.row
        target = anchor(row["id"], row["template"], row["host"], several)
        where = (f" <em>{esc(row['template'])} on {esc(_host_name(row['host']))}</em>"
                 if several else "")
        owner = (f"could not decide: {esc(found.why)}" if found.owner == findings.UNDECIDED
                 else "owner: " + esc(found.owner) + (f": {esc(found.why)}" if found.why else ""))
        evidence = ("" if found.owner == findings.UNDECIDED else
                    f"<span class=\"evidence\">evidence: {esc(_first_failing(row))}</span>")
        items.append(f"<li>{_badge(row['status'])} <a href=\"#{esc(target)}\">"
                     f"<strong>{esc(row['id'])}</strong></a> {esc(row['title'])} "
                     f"({esc(row['severity'])}){where}<br><span class=\"owner\">"
                     f"{owner}</span>{evidence}<span class=\"fix\">fix: "
                     f"{esc(found.fix)}</span></li>")
    not_run = findings.not_run(document)
    if not_run:
        ids = ", ".join(dict.fromkeys(r["id"] for r in not_run))
        items.append(f"<li>{_badge(verdicts.NOT_RUN)} {len(not_run)} controls: {esc(ids)}</li>")
    if not items:
        return ""
    return "<h2 id=\"failing\">What failed</h2>\n<ul class=\"findings\">\n" + \
        "\n".join(items) + "\n</ul>"


def _first_failing(row, limit=240):
    """The first failing observation, cut at `limit` characters (its row has it whole)."""
    bad = [e for e in row["evidence"] if not e["ok"]]
    if bad:
        text = f"[{bad[0]['vantage']}] {bad[0]['what']}: {bad[0]['observed']} " \
               f"(expected {bad[0]['expected']})"
    else:
        text = next((c["message"] for c in row["checks"] if c["message"]), "none recorded")
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def _controls(controls, several, trend):
    head = ("<tr><th>id</th><th>title</th><th>risk factor</th><th>severity</th><th>status</th>"
            "<th>duration</th>" + ("<th>last runs</th>" if trend else "") + "</tr>")
    rows = "\n".join(_control(c, several, trend) for c in controls)
    return f"<table class=\"controls\">\n<thead>{head}</thead>\n{rows}\n</table>"


def _control(control, several, trend):
    failing = control["status"] in verdicts.FAILING
    risk = f"{esc(control['risk'])} {esc(control.get('risk_factor', ''))}"
    title = esc(control["title"]) + (f" <em>{esc(control['template'])} on "
                                     f"{esc(_host_name(control['host']))}</em>"
                                     if several else "")
    row = (f"<tr><td class=\"id\">{esc(control['id'])}</td><td>{title}</td>"
           f"<td>{risk}</td><td class=\"k\">{esc(control['severity'])}</td>"
           f"<td class=\"k\">{_badge(control['status'])}"
           f"</td><td class=\"n\">{_seconds(control['duration_s'])}</td>"
           f"{_trend_cell(control, trend)}</tr>")
    evidence = control["evidence"]
    bad = sum(1 for e in evidence if not e["ok"])
    label = f"evidence ({len(evidence)}, {bad} failing), checks, remediation"
    if "waiver" in control:
        label += ", waiver"
    details = (f"<details{' open' if failing else ''}><summary>{label}</summary>\n"
               f"{_details(control)}\n</details>")
    target = anchor(control["id"], control["template"], control["host"], several)
    return (f"<tbody id=\"{esc(target)}\" class=\"{'failing' if failing else 'ok'}\">\n{row}\n"
            f"<tr class=\"more\"><td colspan=\"{7 if trend else 6}\">{details}</td></tr>\n"
            f"</tbody>")


def _trend_cell(control, trend):
    if trend is None:
        return ""
    entry = trend["by_key"].get((control["host"], control["template"], control["id"]))
    if entry is None:
        return "<td class=\"trend\"></td>"
    since = entry["failing_since"]
    text = "" if since is None else (f" <span class=\"since\" title=\"{esc(since)}\">"
                                     f"failing since {esc(since[:10])}</span>")
    return f"<td class=\"trend\">{_strip(entry['statuses'], trend['dates'])}{text}</td>"


def _strip(statuses, dates):
    """An inline SVG bar per run, oldest first, coloured as the status badges."""
    bars = "".join(_bar(i, status, date[:10])
                   for i, (status, date) in enumerate(zip(statuses, dates)))
    width = len(statuses) * STEP
    return (f"<svg class=\"strip\" width=\"{width}\" height=\"{HEIGHT}\" "
            f"viewBox=\"0 0 {width} {HEIGHT}\" role=\"img\" "
            f"aria-label=\"status in the last {len(statuses)} runs\">{bars}</svg>")


@functools.lru_cache(maxsize=4096)  # a page repeats the same few bars for every control
def _bar(index, status, day):
    return (f"<rect x=\"{index * STEP + 1}\" y=\"1\" width=\"{STEP - 2}\" "
            f"height=\"{HEIGHT - 2}\" class=\"s-{esc(status or 'none')}\"><title>{esc(day)}: "
            f"{esc(status or 'not run')}</title></rect>")


def _details(control):
    with_evidence = {e["check"] for e in control["evidence"]}
    parts = ["<h3>evidence</h3>", _evidence(control["evidence"]),
             "<h3>checks</h3>", _checks(control["checks"], with_evidence)]
    if "waiver" in control:
        parts += ["<h3>waiver</h3>", _waiver(control["waiver"])]
    references = "".join(f"<li>{esc(r)}</li>" for r in control["references"])
    parts += ["<h3>references</h3>", f"<ul>{references}</ul>" if references else "<p>none</p>",
              "<h3>remediation</h3>", f"<p class=\"text\">{esc(control['remediation'])}</p>"]
    return "\n".join(parts)


def _evidence(evidence):
    if not evidence:
        return "<p>none recorded</p>"
    rows = "".join(
        f"<tr class=\"{'good' if e['ok'] else 'bad'}\"><td class=\"k\">{esc(e['vantage'])}</td>"
        f"<td class=\"text\">{esc(e['what'])}</td><td class=\"text\">{esc(e['observed'])}</td>"
        f"<td class=\"text\">{esc(e['expected'])}</td>"
        f"<td class=\"k ok\">{'ok' if e['ok'] else 'FAILED'}</td></tr>\n"
        for e in evidence)
    return ("<table>\n<tr><th>vantage</th><th>what</th><th>observed</th><th>expected</th>"
            f"<th>ok</th></tr>\n{rows}</table>")


def _checks(checks, with_evidence):
    """Each check's verdict; a failed check's assertion text only where it recorded no
    evidence (the evidence table says it already)."""
    rows = "".join(
        f"<tr><td>{esc(c['check'])}</td><td class=\"k\">{esc(c['vantage'])}</td>"
        f"<td class=\"k\">{_badge(c['verdict'])}"
        f"</td><td class=\"text\">{esc(_check_message(c, with_evidence))}</td>"
        f"<td class=\"n\">{_seconds(c['duration_s'])}</td></tr>\n"
        for c in checks)
    return ("<table>\n<tr><th>check</th><th>vantage</th><th>verdict</th><th>message</th>"
            f"<th>duration</th></tr>\n{rows}</table>")


def _check_message(check, with_evidence):
    if check["verdict"] == verdicts.FAIL and check["check"] in with_evidence:
        return ""
    return check["message"]


def _waiver(waiver):
    expired = "" if waiver["active"] else " <span class=\"expired\">WAIVER EXPIRED</span>"
    rows = [("reason", f"<span class=\"text\">{esc(waiver['reason'])}</span>"),
            ("owner", esc(waiver["owner"])), ("expires", esc(waiver["expires"]) + expired)]
    return _facts(rows)
