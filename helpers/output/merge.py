"""One document of many: the cells of a run that drove several, or of a sharded run's shards.

    document = merge([load("shard-1/controls.json"), load("shard-2/controls.json")], "any")

Cells keep their rows; hosts are listed once (by the URI they were given, the lab once),
templates once by name. Cells keep the order of the run's hosts x templates as given (their
position; by host URI and template name where documents of separate runs have none), so that
any split of a run into shards merges into the same document. A host is named in rows by its
name, or by its URI where two hosts of the merged run share a name. The gate and the summary
are recomputed over every row.
"""

import datetime

from helpers.output import document as document_mod

NULL_FILE = {"path": None, "sha256": None}


class MergeError(ValueError):
    """The documents cannot make one run; the message names the problem and the fix."""


def merge(documents, fail_on, span=None):
    """The run of every cell of `documents` (each a document of one or more cells); `span`:
    when the run that drove them started and finished (epoch seconds), where it is known."""
    if not documents:
        raise MergeError("no report to merge; pass the controls.json of each shard")
    _check_shards(documents)
    cells = sorted(((doc, cell) for doc in documents for cell in doc["cells"]),
                   key=lambda pair: (pair[1].get("position", 0), _given(*pair) or "",
                                     pair[1]["template"]))
    _check_unique(cells)
    renamed = _host_keys(cells)
    rows = [dict(row, host=renamed[(_given(doc, cell), cell["host"])])
            for doc, cell in cells for row in doc["controls"]
            if (row["host"], row["template"]) == (cell["host"], cell["template"])]
    hosts = _hosts(cells)
    order = list(dict.fromkeys(cell["template"] for _, cell in cells))
    templates = sorted({t["name"]: t for doc in documents for t in doc["templates"]}.values(),
                       key=lambda t: (order.index(t["name"]) if t["name"] in order else
                                      len(order), t["name"]))
    if span is not None:
        started, finished = (document_mod.timestamp(moment) for moment in span)
    else:
        started = min(doc["started"] for doc in documents)
        finished = max(doc["finished"] for doc in documents)
    merged = {
        "format": document_mod.FORMAT,
        "vmiso_version": documents[0]["vmiso_version"],
        "started": started,
        "finished": finished,
        "duration_s": round((_epoch(finished) - _epoch(started)), 3),
        "host": hosts[0] if len(hosts) == 1 else document_mod.host_facts({}),
        "hosts": hosts,
        "template": templates[0] if len(templates) == 1 else NULL_FILE,
        "image": templates[0]["image"] if len(templates) == 1 else NULL_FILE,
        "templates": templates,
        "cells": [dict(cell, host=renamed[(_given(doc, cell), cell["host"])])
                  for doc, cell in cells],
        "hypothesis_seed": documents[0]["hypothesis_seed"],
        "gate": document_mod.gate_of(rows, fail_on, [cell for _, cell in cells]),
        "summary": document_mod.summary(rows),
        "controls": rows,
        "run": _shared_facts([cell.get("run", {}) for _, cell in cells]),
    }
    if len(templates) == 1:
        merged["template"] = {k: templates[0][k] for k in ("path", "sha256")}
    if "selection" in documents[0]:
        merged["selection"] = documents[0]["selection"]
    return merged


def _check_shards(documents):
    shards = [doc["shard"] for doc in documents if "shard" in doc]
    if not shards:
        return
    counts = {s.split("/")[1] for s in shards}
    if len(shards) != len(documents) or len(counts) != 1:
        raise MergeError(f"the reports are shards of different splits ({', '.join(shards)}); "
                         f"merge the shards of one --shard K/N run")
    if len(set(shards)) != len(shards):
        raise MergeError(f"a shard is given twice ({', '.join(shards)}); give each once")
    total = int(counts.pop())
    missing = sorted(set(range(1, total + 1)) - {int(s.split("/")[0]) for s in shards})
    if missing:
        raise MergeError(f"shard {', '.join(f'{k}/{total}' for k in missing)} missing: merge "
                         f"all {total} shards of the run (rerun the missing ones)")


def _check_unique(cells):
    seen = set()
    for doc, cell in cells:
        key = (_given(doc, cell), cell["host"], cell["template"])
        if key in seen:
            raise MergeError(f"template {cell['template']} on {cell['host']} is in two reports; "
                             f"merge each run or shard once")
        seen.add(key)


def _given(doc, cell):
    """The host as the run was told it: the --libvirt-uri, or None for the local lab."""
    return cell.get("uri")


def _host_keys(cells):
    """(given uri, host key) -> the key the merged rows name the host by: a broken cell's host
    by the name the host's other cells learnt, and the facts' URI where hosts given
    differently share a name."""
    learnt = {_given(doc, cell): cell["host"] for doc, cell in cells
              if cell["status"] == "ran" and _facts(doc, cell).get("name")}

    def key_of(doc, cell):
        return learnt.get(_given(doc, cell), cell["host"])

    givens_by_key = {}
    for doc, cell in cells:
        givens_by_key.setdefault(key_of(doc, cell), set()).add(_given(doc, cell))
    renamed = {}
    for doc, cell in cells:
        key = key_of(doc, cell)
        if len(givens_by_key[key]) > 1:
            key = _facts(doc, cell)["uri"] or key
        renamed[(_given(doc, cell), cell["host"])] = key
    return renamed


def _facts(doc, cell):
    return next((h for h in doc["hosts"]
                 if cell["host"] in (h.get("name"), h.get("uri"))), doc["hosts"][0])


def _hosts(cells):
    """Each host once, by the URI it was given, with the facts of a cell that reached it."""
    hosts = {}
    for doc, cell in sorted(cells, key=lambda pair: pair[1]["status"] != "ran"):
        hosts.setdefault(_given(doc, cell) or "", _facts(doc, cell))
    order = list(dict.fromkeys(_given(doc, cell) or "" for doc, cell in cells))
    return [hosts[given] for given in order]


def _shared_facts(runs):
    """The run facts every cell shares (the seed, the accelerator ...); the rest stay per cell."""
    if not runs:
        return {}
    return {k: v for k, v in runs[0].items() if all(r.get(k) == v for r in runs[1:])}


def _epoch(timestamp):
    return datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
