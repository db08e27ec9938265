"""The run history (--history DIR): each run's document kept under its start time, and the trend.

    record(document, Path("history"))         # history/2026-11-30T08-49-23.123Z.json
    baseline, path = previous(Path("history"), document["started"])   # last night's run
    document["history"] = trend(document, Path("history"))

A run's file is named by its "started" (':' becomes '-'), so the names sort as the runs did and
the last few runs are found from the names alone, without reading a year of documents. Every
*.json file in the folder must be a run vmiso recorded; other files are left alone.
"""

import json
import re
from pathlib import Path

from helpers.local import atomicfile
from helpers.output import document as document_mod
from helpers.verdict import verdicts

RUNS = 14
# A recorded run's file name: its "started" timestamp with ':' as '-'.
NAME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d(\.\d+)?(Z|[+-]\d\d-\d\d)\.json$")


class HistoryError(ValueError):
    """A file in the history folder is not a run vmiso recorded; the message names it and the
    fix."""


def file_name(started):
    """The file a run started at `started` is recorded in.

    >>> file_name("2026-11-30T08:49:23.123Z")
    '2026-11-30T08-49-23.123Z.json'
    """
    return started.replace(":", "-") + ".json"


def record(document, folder):
    """Save `document` in `folder` (created if need be) under its start time; the path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name(document["started"])
    # a run reading the folder never sees half a document
    atomicfile.replace(path, json.dumps(document, indent=2) + "\n")
    return path


def previous(folder, before):
    """(document, path) of the newest run recorded in `folder` that started before `before`
    (a timestamp), upgraded and checked by document.load; (None, None) when there is none."""
    names = _earlier(Path(folder), before)
    if not names:
        return None, None
    path = Path(folder) / names[-1]
    _read(path)  # a plain JSON file or another format gets the history folder's message
    try:
        return document_mod.load(path, purpose="history file"), path
    except document_mod.DocumentError as err:
        raise HistoryError(f"{err}; if vmiso did not record it, move it out of the history "
                           f"folder {folder}") from None


def trend(document, folder, runs=RUNS):
    """The document's "history": each of its controls' statuses over the last `runs` runs (the
    `runs` - 1 recorded in `folder` before it, then itself) and since when it has failed. A
    control failing in every run of the window is failing since the oldest of them."""
    if runs < 1:
        raise ValueError(f"runs must be at least 1, not {runs}")
    folder = Path(folder)
    names = _earlier(folder, document["started"])[-(runs - 1):] if runs > 1 else []
    past = [_run(folder / name) for name in names]
    started = [s for s, _ in past] + [document["started"]]
    now = _statuses(document)
    controls = []
    for key, status in now.items():
        statuses = [found.get(key) for _, found in past] + [status]
        controls.append({"host": key[0], "template": key[1], "control": key[2],
                         "statuses": statuses, "failing_since": failing_since(statuses, started)})
    files = names + [file_name(document["started"])]
    return {"dir": str(folder),
            "runs": [{"started": s, "file": f} for s, f in zip(started, files)],
            "controls": controls}


def check(folder, runs=RUNS):
    """HistoryError where `folder` cannot be a history, or a run the next trend and comparison
    read is not a vmiso report: said before a run starts rather than after it."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise HistoryError(f"history {folder} is a file; give --history a folder (created on "
                           f"first use) that keeps the runs' reports")
    names = _earlier(folder, "9999")
    for name in names[-(runs - 1):]:
        _run(folder / name)
    if names:
        previous(folder, "9999")


def failing_since(statuses, started):
    """started[i] of the first run of the unbroken failing streak that ends the list; None
    when the last status is not failing (None, a run that did not test it, ends a streak).

    >>> failing_since(["fail", "pass", "drift", "error"], ["d1", "d2", "d3", "d4"])
    'd3'
    """
    first = None
    for index in range(len(statuses) - 1, -1, -1):
        if statuses[index] not in verdicts.FAILING:
            break
        first = started[index]
    return first


def _earlier(folder, before):
    """Names of the runs recorded in `folder` that started before `before`, oldest first."""
    if not folder.is_dir():
        return []
    bound = file_name(before)
    names = []
    for path in folder.glob("*.json"):
        if not NAME.match(path.name):
            raise HistoryError(f"{path} is not a run vmiso recorded (their names are start "
                               f"times, like 2026-11-30T08-49-23.123Z.json); move it out of "
                               f"the history folder {folder}")
        if path.name < bound:
            names.append(path.name)
    return sorted(names)


# The trend reads the recorded documents with json alone, without document.load's schema check:
# jsonschema takes about 0.2 s per 300 KB document, seconds for a window of 14, while the trend
# needs four fields of each row, and record() wrote every file from a document that was valid.
def _read(path):
    """A recorded run's document, read as JSON; HistoryError unless it is a vmiso report."""
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise HistoryError(f"{path} cannot be read ({err.strerror}); make it readable or move "
                           f"it out of the history folder {path.parent}") from None
    except ValueError as err:
        raise _not_a_run(path, f"not JSON: {err}") from None
    found = loaded.get("format") if isinstance(loaded, dict) else None
    if not isinstance(found, str) or not found.startswith("vmiso-controls/"):
        raise _not_a_run(path, f"format {found!r}")
    return loaded


def _run(path):
    """("started", statuses) of a recorded run, upgraded from vmiso-controls/1."""
    loaded = _read(path)
    try:
        if loaded["format"] == document_mod.FORMAT_V1:
            loaded = document_mod.upgraded(loaded)
        return loaded["started"], _statuses(loaded)
    except (KeyError, TypeError, AttributeError) as err:
        raise _not_a_run(path, f"no {err} where a report has one") from None


def _statuses(document):
    """(host, template, control) -> status of a document's rows."""
    return {(row["host"], row["template"], row["id"]): row["status"]
            for row in document["controls"]}


def _not_a_run(path, why):
    return HistoryError(f"{path} is not a vmiso report ({why}); move it out of the history "
                        f"folder {path.parent}, which holds only the controls.json of earlier runs")
