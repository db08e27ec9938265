"""A report folder: controls.json, report.html, junit.xml and checks.xml, and the history.

    finish(document, baseline=None, history_dir=Path("/var/lib/vmiso/history"))
    write(document, Path("reports"), checks=[Path("reports/cells/001-hardened-lab/checks.xml")])

A run and a merge of shards end alike: compared with the baseline given, else with the run
before it in the history; the history's strip added; the files written; the document recorded.
"""

import json
from pathlib import Path

from helpers.output import checksxml, history, html, junit
from helpers.output import document as document_mod


class ReportError(ValueError):
    """The history or the baseline cannot be used; the message names it and the fix."""


def finish(document, baseline=None, baseline_path=None, history_dir=None):
    """Add the comparison (with `baseline`, else the previous run in `history_dir`) and the
    history's trend to `document`."""
    if history_dir is not None:
        try:
            if baseline is None:
                baseline, baseline_path = history.previous(Path(history_dir),
                                                           document["started"])
            document["history"] = history.trend(document, Path(history_dir))
        except (history.HistoryError, document_mod.DocumentError) as err:
            raise ReportError(str(err)) from None
    if baseline is not None:
        document["baseline"] = document_mod.compare(document, baseline, baseline_path)
    return document


def write(document, report_dir, checks=(), history_dir=None):
    """The report files in `report_dir`; `checks`: the cells' checks.xml files to join into
    its checks.xml; the document recorded in `history_dir`."""
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "controls.json").write_text(json.dumps(document, indent=2) + "\n")
    html.write(document, report_dir / "report.html")
    junit.write(document, report_dir / "junit.xml")
    if checks:
        checksxml.write(list(checks), report_dir / "checks.xml")
    if history_dir is not None:
        history.record(document, Path(history_dir))
