"""The HTML report, reports/report.html: one self-contained page rendered from the document.

    write(document, Path("reports/report.html"))
    page = render(document)   # the same page as a string

The page is what a person opens from CI artifacts to see why a host failed the gate: the
verdict and the host first, counts by risk factor and severity, what changed since a baseline,
then a row per control with its evidence, checks and remediation one click away (open already
for failing controls). It loads nothing: inline CSS, no script, a Content-Security-Policy that
forbids fetching anything. Every string from the document is escaped, since evidence comes from
guests and hosts.
"""

import html
from pathlib import Path

from helpers.verdict import verdicts
from helpers.verdict.catalog import SEVERITIES

# Failing first: the columns and counts a reader looks for.
STATUSES = (verdicts.FAIL, verdicts.DRIFT, verdicts.ERROR, verdicts.WAIVED, verdicts.MITIGATED,
            verdicts.PASS, verdicts.NOT_APPLICABLE)
CHANGES = ("regressed", "fixed", "new", "gone", "changed")

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
    """The whole page for one report document (format vmiso-controls/1), as a string."""
    parts = [_head(document), _header(document), _summary(document)]
    if "baseline" in document:
        parts.append(_baseline(document["baseline"]))
    parts.append(_controls(document["controls"], len(_hosts(document)) > 1))
    parts.append("</body>\n</html>\n")
    return "\n".join(parts)


def write(document, path):
    """Write the page to `path` (a str or Path), UTF-8."""
    Path(path).write_text(render(document), encoding="utf-8")


def esc(value):
    """Any value as escaped text; None (a fact the run never learnt) as a dash."""
    return "\u2014" if value is None else html.escape(str(value), quote=True)


def _head(document):
    verdict = "GATE FAILED" if document["gate"]["blocking"] else "GATE PASSED"
    host = f"static run of {document['template']['path']}" if _is_static(document) else \
        ", ".join(str(h.get("name")) for h in _hosts(document))
    # default-src 'none': the page may fetch nothing, whatever a string in it says.
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta http-equiv=\"Content-Security-Policy\" "
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>vmiso report: {esc(host)}: {verdict}</title>\n"
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
    """The hosts the run tested (documents of one host may predate the hosts list)."""
    return document.get("hosts") or [document.get("host") or {}]


def anchor(control, several_hosts):
    """The id of a control's rows in the page: its ID, and its host's name beside it when the
    run tested several hosts."""
    return f"{control['id']}@{control['host']}" if several_hosts else control["id"]


def _gate(document):
    gate = document["gate"]
    blocking = gate["blocking"]
    if not blocking:
        return (f"<p class=\"verdict passed\">GATE PASSED: no blocking control "
                f"(fail on {esc(gate['fail_on'])})</p>")
    several = len(_hosts(document)) > 1
    first_row = {}
    for control in document["controls"]:
        if control["status"] in verdicts.FAILING:
            first_row.setdefault(control["id"], anchor(control, several))
    links = ", ".join(f"<a href=\"#{esc(first_row.get(c, c))}\">{esc(c)}</a>"
                      for c in blocking)
    return (f"<p class=\"verdict failed\">GATE FAILED: {len(blocking)} blocking "
            f"control{'s' if len(blocking) != 1 else ''} (fail on {esc(gate['fail_on'])}): "
            f"{links}</p>")


def _is_static(document):
    return document.get("run", {}).get("mode") == "static"


def _header(document):
    rows = [("run", "static: the template file alone; no host, no guest (make check-templates)")] \
        if _is_static(document) else _host_rows(document)
    rows += [
        ("template", _file(document["template"])),
        ("image", _file(document["image"])),
        ("vmiso", esc(document["vmiso_version"])),
        ("started", esc(document["started"])),
        ("finished", esc(document["finished"])),
        ("duration", _seconds(document["duration_s"])),
        ("hypothesis seed", esc(document["hypothesis_seed"])),
        ("fail on", esc(document["gate"]["fail_on"])),
    ]
    if _is_static(document):
        rows = [row for row in rows if row[0] not in ("image", "hypothesis seed")]
    run = document.get("run", {})
    if run.get("template_refused"):
        rows.append(("template refused", f"<span class=\"text\">"
                                         f"{esc(run['template_refused'])}</span>"))
    if run.get("adaptations"):
        rows.append(("adaptations", "<br>".join(f"<span class=\"text\">{esc(a)}</span>"
                                                for a in run["adaptations"])))
    return f"<h1>vmiso report</h1>\n{_gate(document)}\n{_facts(rows)}"


def _host_rows(document):
    rows = []
    for host in _hosts(document):
        rows += [("host", esc(host.get("name")))]
        rows += [(key, esc(host.get(key)))
                 for key in ("uri", "kernel", "qemu", "libvirt", "accelerator")]
    return rows


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


def _changes(name, changes):
    if not changes:
        return f"<h3>{name}</h3>\n<p>none</p>"
    rows = "".join(
        f"<tr><td>{esc(c['host'])}</td><td><a href=\"#{esc(c['control'])}\">"
        f"{esc(c['control'])}</a></td><td>{esc(c['title'])}</td><td>{esc(c['severity'])}</td>"
        f"<td>{_status_or_dash(c['was'])} \u2192 {_status_or_dash(c['now'])}</td></tr>\n"
        for c in changes)
    return (f"<h3>{name} ({len(changes)})</h3>\n<table>\n<tr><th>host</th><th>control</th>"
            f"<th>title</th><th>severity</th><th>was \u2192 now</th></tr>\n{rows}</table>")


def _status_or_dash(status):
    return "\u2014" if status is None else _badge(status)


def _baseline(baseline):
    heading = f"Since {esc(baseline['started'])} ({esc(baseline['path'])})"
    regressed = f"<div class=\"regressed\">\n{_changes('regressed', baseline['regressed'])}\n</div>"
    others = [_changes(name, baseline[name]) for name in CHANGES[1:]]
    return "\n".join([f"<h2 id=\"baseline\">{heading}</h2>", regressed] + others)


def _controls(controls, several_hosts):
    head = ("<tr><th>id</th><th>title</th><th>risk factor</th><th>severity</th><th>status</th>"
            "<th>duration</th></tr>")
    rows = "\n".join(_control(c, several_hosts) for c in controls)
    return f"<h2>Controls</h2>\n<table class=\"controls\">\n<thead>{head}</thead>\n{rows}\n</table>"


def _control(control, several_hosts):
    failing = control["status"] in verdicts.FAILING
    risk = f"{esc(control['risk'])} {esc(control.get('risk_factor', ''))}"
    title = esc(control["title"]) + (f" <em>on {esc(control['host'])}</em>"
                                     if several_hosts else "")
    row = (f"<tr><td class=\"id\">{esc(control['id'])}</td><td>{title}</td>"
           f"<td>{risk}</td><td class=\"k\">{esc(control['severity'])}</td>"
           f"<td class=\"k\">{_badge(control['status'])}"
           f"</td><td class=\"n\">{_seconds(control['duration_s'])}</td></tr>")
    evidence = control["evidence"]
    bad = sum(1 for e in evidence if not e["ok"])
    label = f"evidence ({len(evidence)}, {bad} failing), checks, remediation"
    if "waiver" in control:
        label += ", waiver"
    details = (f"<details{' open' if failing else ''}><summary>{label}</summary>\n"
               f"{_details(control)}\n</details>")
    return (f"<tbody id=\"{esc(anchor(control, several_hosts))}\" "
            f"class=\"{'failing' if failing else 'ok'}\">\n{row}\n"
            f"<tr class=\"more\"><td colspan=\"6\">{details}</td></tr>\n</tbody>")


def _details(control):
    parts = ["<h3>evidence</h3>", _evidence(control["evidence"]),
             "<h3>checks</h3>", _checks(control["checks"])]
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


def _checks(checks):
    rows = "".join(
        f"<tr><td>{esc(c['check'])}</td><td class=\"k\">{esc(c['vantage'])}</td>"
        f"<td class=\"k\">{_badge(c['verdict'])}"
        f"</td><td class=\"text\">{esc(c['message'])}</td>"
        f"<td class=\"n\">{_seconds(c['duration_s'])}</td></tr>\n"
        for c in checks)
    return ("<table>\n<tr><th>check</th><th>vantage</th><th>verdict</th><th>message</th>"
            f"<th>duration</th></tr>\n{rows}</table>")


def _waiver(waiver):
    expired = "" if waiver["active"] else " <span class=\"expired\">WAIVER EXPIRED</span>"
    rows = [("reason", f"<span class=\"text\">{esc(waiver['reason'])}</span>"),
            ("owner", esc(waiver["owner"])), ("expires", esc(waiver["expires"]) + expired)]
    return _facts(rows)
