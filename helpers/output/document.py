"""The report document, reports/controls.json, format vmiso-controls/2 (see schema/).

    document = build(controls, context, started, finished, fail_on="any")
    document["gate"]["passed"]             # False: a control blocks, or the run ended early
    compare(document, load(Path("last-night/controls.json")))   # --baseline
    merge([shard1, shard2, shard3], fail_on="any")              # one document of every cell

A run covers cells, a template on a host each; every control row is keyed by its host, template
and control ID. Everything a reader or a CI job needs is in the document: where it ran, on what,
each control's verdict with its evidence and remediation, the gate's decision, and the
comparison with a baseline. The HTML and JUnit reports are rendered from it alone. Documents of
format vmiso-controls/1 (one template) are still read: load() upgrades them.
"""

import datetime
import functools
import json
import subprocess
from pathlib import Path

import jsonschema

from helpers import CHECKOUT
from helpers.local import digest
from helpers.verdict import verdicts
from helpers.verdict.catalog import RISK_FACTORS, SEVERITIES

FORMAT = "vmiso-controls/2"
FORMAT_V1 = "vmiso-controls/1"
VERSION = "0.7.0"
SCHEMA_PATH = CHECKOUT / "schema" / "controls.schema.json"
# How a cell's run ended: to its end, or early (helpers/plugin/report.py; broken: a cell of a
# run of several that left no report of its own, helpers/plugin/controller.py).
RAN, BROKEN, INTERRUPTED, DID_NOT_RUN, RUNNING = (
    "ran", "broken", "interrupted", "did_not_run", "running")
ENDED_EARLY = (BROKEN, INTERRUPTED, DID_NOT_RUN, RUNNING)
# A control whose status is one of these counts as passing in a comparison.
GOOD = (verdicts.PASS, verdicts.MITIGATED, verdicts.NOT_APPLICABLE, verdicts.WAIVED)


class DocumentError(ValueError):
    """A report document cannot be used (unreadable, not JSON, another format)."""



@functools.cache
def suite_version():
    """VERSION, and the commit where vmiso runs from a git checkout: '0.6.0+3fe84d7a1b2c', with
    '.dirty' when the checkout has changes; VERSION alone elsewhere."""
    try:
        commit = subprocess.run(["git", "-C", str(CHECKOUT), "rev-parse", "--short=12", "HEAD"],
                                capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(CHECKOUT), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True,
                               timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return VERSION
    if commit.returncode != 0:
        return VERSION
    return f"{VERSION}+{commit.stdout.strip()}" + (".dirty" if dirty.stdout.strip() else "")

def blocking(controls, fail_on):
    """IDs of the controls that fail the run: failed or drifted at or above `fail_on`, and every
    error or control not run whatever its severity (the suite could not decide, and a gate
    passes nothing it could not check)."""
    return list(dict.fromkeys(c["id"] for c in _blocking_rows(controls, fail_on)))


def blocking_cells(controls, fail_on):
    """Where each blocking control blocks: {"host", "template", "control"} per failing row."""
    return [{"host": c["host"], "template": c["template"], "control": c["id"]}
            for c in _blocking_rows(controls, fail_on)]


def _blocking_rows(controls, fail_on):
    floor = len(SEVERITIES) if fail_on == "any" else SEVERITIES.index(fail_on) + 1
    return [c for c in controls
            if c["status"] in verdicts.UNDECIDED
            or (c["status"] in (verdicts.FAIL, verdicts.DRIFT)
                and SEVERITIES.index(c["severity"]) < floor)]


def summary(controls):
    def count(rows):
        counts = {}
        for row in rows:
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        return counts
    risks = sorted({c["risk"] for c in controls})
    severities = [s for s in SEVERITIES if any(c["severity"] == s for c in controls)]
    return {"total": len(controls), "by_status": count(controls),
            "by_risk": {str(r): count(c for c in controls if c["risk"] == r) for r in risks},
            "by_severity": {s: count(c for c in controls if c["severity"] == s)
                            for s in severities}}


def build(controls, context, started, finished, fail_on="any", selection=None, status=RAN,
          message=""):
    """The document of one cell: `controls` as the report plugin aggregated them, `context` the
    run facts the fixtures recorded (host, template, image, seed ...); `status` and `message`:
    how the cell's run ended (RAN, or one of ENDED_EARLY and why)."""
    host = context.get("host") or {}
    name = template_name(context)
    key = host.get("name") or host.get("uri")  # a host that could not be reached has no name
    rows = [dict(c, host=c.get("host") or key, template=name,
                 risk_factor=RISK_FACTORS[c["risk"]]) for c in controls]
    template = context.get("template_file") or {"path": None, "sha256": None}
    image = context.get("image_file") or {"path": None, "sha256": None}
    run = {k: v for k, v in context.items()
           if k not in ("host", "template_file", "image_file", "given_uri")}
    cell = {"host": key, "uri": context.get("given_uri"), "template": name,
            "status": status, "exit_status": None, "duration_s": round(finished - started, 3),
            "message": message, "run": run}
    document = {
        "format": FORMAT,
        "vmiso_version": suite_version(),
        "started": timestamp(started),
        "finished": timestamp(finished),
        "duration_s": round(finished - started, 3),
        "host": host_facts(host),
        "hosts": [host_facts(host)],
        "template": template,
        "image": image,
        "templates": [{"name": name, **template, "image": image}],
        "cells": [cell],
        "hypothesis_seed": context.get("probe_seed"),
        "gate": gate_of(rows, fail_on, [cell]),
        "summary": summary(rows),
        "controls": rows,
        "run": run,
    }
    if selection:
        document["selection"] = selection
    return document


def template_name(context):
    """A template's name in the report: its file's stem ("hardened" for templates/hardened.xml)."""
    path = context.get("template") or (context.get("template_file") or {}).get("path")
    return Path(path).stem if path else "template"


def gate_passed(document):
    """The gate's decision (a document written before the gate recorded one: no blocking
    control)."""
    gate = document["gate"]
    return gate.get("passed", not gate["blocking"])


def gate_of(rows, fail_on, cells):
    """The gate over `rows`: it passes when none blocks and every one of `cells` ran to its
    end."""
    found = blocking(rows, fail_on)
    return {"fail_on": fail_on, "passed": not found and all(c["status"] == RAN for c in cells),
            "blocking": found, "blocking_cells": blocking_cells(rows, fail_on)}


def host_facts(host):
    return {key: host.get(key) for key in ("name", "uri", "distribution", "kernel", "qemu",
                                           "libvirt", "accelerator")}


def file_facts(path):
    """{"path", "sha256"} of a file the run used (the template, the guest image); sha256 is
    null when the file is gone or unreadable by the end of the run."""
    try:
        return {"path": str(path), "sha256": digest.sha256(path)}
    except OSError:
        return {"path": str(path), "sha256": None}


def timestamp(epoch):
    moment = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def validate(document):
    """Raise jsonschema.ValidationError where the document breaks the schema."""
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER).validate(document)


def load(path, purpose="baseline"):
    """An earlier run's document (for --baseline, a merge); DocumentError says what is wrong
    with it. A vmiso-controls/1 document comes back upgraded to this format."""
    try:
        document = json.loads(Path(path).read_text())
    except OSError as err:
        raise DocumentError(f"{purpose} {path} cannot be read ({err.strerror}); pass the "
                            f"controls.json of an earlier run") from None
    except ValueError as err:
        raise DocumentError(f"{purpose} {path} is not JSON ({err}); pass the controls.json of "
                            f"an earlier run") from None
    found = document.get("format") if isinstance(document, dict) else None
    if found not in (FORMAT, FORMAT_V1):
        raise DocumentError(f"{purpose} {path} is not a {FORMAT} report (format: {found!r}); "
                            f"pass a controls.json vmiso wrote")
    if found == FORMAT_V1:
        document = upgraded(document)
    try:
        validate(document)
    except jsonschema.ValidationError as err:
        where = "/".join(str(p) for p in err.absolute_path) or "the top level"
        raise DocumentError(f"{purpose} {path} breaks the report schema at {where}: "
                            f"{err.message[:160]}") from None
    return document


def upgraded(old):
    """A vmiso-controls/1 document (one template, one or more hosts) as this format has it."""
    name = template_name({"template_file": old.get("template")})
    rows = [dict(c, template=name) for c in old.get("controls", [])]
    listed = old.get("hosts") or [old.get("host") or {}]  # the first /1 documents had one
    hosts = {h.get("name"): h for h in listed}
    cells = [{"host": key, "uri": (hosts.get(key) or {}).get("uri"), "template": name,
              "status": "ran", "exit_status": None, "duration_s": old.get("duration_s", 0),
              "message": "", "run": {}}
             for key in dict.fromkeys(c["host"] for c in rows)]
    gate = old.get("gate", {})
    document = dict(old, format=FORMAT, controls=rows, cells=cells, hosts=listed,
                    templates=[{"name": name, **(old.get("template") or {}),
                                "image": old.get("image")}],
                    gate=gate_of(rows, gate.get("fail_on", "any"), cells))
    if "baseline" in old:
        document["baseline"] = {k: [dict(e, template=name) for e in v] if isinstance(v, list)
                                else v for k, v in old["baseline"].items()}
    return document


def row_key(row):
    return (row["host"] or "", row["template"], row["id"])


def compare(document, baseline, baseline_path):
    """What changed since `baseline`, keyed by host, template and control. Two runs of one
    template each compare control by control whatever the templates' names (a renamed
    template, or one template judged against another)."""
    now = {row_key(c): c for c in document["controls"]}
    was = {row_key(c): c for c in _as_template_of(baseline["controls"], document["controls"])}
    result = {"path": str(baseline_path), "started": baseline["started"], "regressed": [],
              "fixed": [], "new": [], "gone": [], "changed": []}
    for key in sorted(now.keys() | was.keys()):
        before, after = was.get(key), now.get(key)
        status_was = before["status"] if before else None
        status_now = after["status"] if after else None
        if status_was == status_now:
            continue
        row = after or before
        result[_kind(status_was, status_now)].append(
            {"host": row["host"], "template": row["template"], "control": row["id"],
             "title": row["title"], "severity": row["severity"], "was": status_was,
             "now": status_now})
    return result


def _as_template_of(rows, other_rows):
    """`rows` renamed to the template of `other_rows` where each names one template."""
    theirs = {c["template"] for c in other_rows}
    ours = {c["template"] for c in rows}
    if len(theirs) != 1 or len(ours) != 1 or theirs == ours:
        return rows
    return [dict(c, template=next(iter(theirs))) for c in rows]


def _kind(was, now):
    if was is None:
        return "new"
    if now is None:
        return "gone"
    if was in GOOD and now not in GOOD:
        return "regressed"
    if was not in GOOD and now in GOOD:
        return "fixed"
    return "changed"
