#!/usr/bin/env python3
"""Merge the reports of a sharded run (or of separate runs) into one report.

    .venv/bin/python -m scripts.merge shard-1 shard-2 shard-3 --report-dir reports
    make merge REPORTS=reports SHARDS='shard-1 shard-2 shard-3' HISTORY=/var/lib/vmiso/history

Each REPORT is a report folder (or its controls.json) that a `--shard K/N` run wrote. The
merged folder gets the files of a single run: controls.json with every host x template x
control, report.html with the matrix, junit.xml, and checks.xml joining the shards' own.
With --history the merged run is compared with the previous one and recorded, as a run with
--history does. Exit status: 0 when the gate passes, 1 when it fails (a blocking control, or a
shard that did not run to its end), 4 when a report is unusable, a shard is missing, the report
folder is another run's, or the history is unusable (the merged report is written first).
"""

import argparse
import sys
from pathlib import Path

from helpers.output import document as document_mod
from helpers.output import merge, reportdir
from helpers.verdict.catalog import FAIL_ON

EXIT_FAILED, EXIT_USAGE = 1, 4


def report_files(given):
    path = Path(given)
    return path / "controls.json" if path.is_dir() else path


def main(argv=None, prog="vmiso merge"):
    parser = argparse.ArgumentParser(prog=prog,
                                     description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("reports", nargs="+", metavar="REPORT",
                        help="report folders (or their controls.json) of the shards")
    parser.add_argument("--report-dir", default="reports", type=Path)
    parser.add_argument("--fail-on", default=None, choices=FAIL_ON,
                        help="the gate's lowest failing severity (default: the shards' own)")
    parser.add_argument("--history", type=Path, default=None, metavar="DIR")
    parser.add_argument("--baseline", type=Path, default=None, metavar="PATH")
    args = parser.parse_args(argv)
    paths = [report_files(r) for r in args.reports]
    try:
        documents = [document_mod.load(p, purpose="report") for p in paths]
        baseline = document_mod.load(args.baseline) if args.baseline else None
        fail_on = args.fail_on or documents[0]["gate"]["fail_on"]
        merged = merge.merge(documents, fail_on)
        folder = reportdir.ReportFolder(args.report_dir).claim()
    except (document_mod.DocumentError, merge.MergeError, reportdir.ReportError) as err:
        print(f"{prog}: {err}", file=sys.stderr)
        return EXIT_USAGE
    checks = [p.parent / "checks.xml" for p in paths if (p.parent / "checks.xml").exists()]
    try:
        reportdir.finish(merged, baseline, args.baseline, args.history)
    except reportdir.ReportError as err:  # the merged report is written all the same
        reportdir.write(merged, args.report_dir, checks)
        print(f"{prog}: {err}", file=sys.stderr)
        return EXIT_USAGE
    else:
        reportdir.write(merged, args.report_dir, checks, args.history)
    finally:
        folder.release()
    blocking = merged["gate"]["blocking"]
    ended_early = [c for c in merged["cells"] if c["status"] in document_mod.ENDED_EARLY]
    print(f"{len(merged['cells'])} cells from {len(documents)} reports: "
          f"{'FAIL ' + ', '.join(blocking) if blocking else 'no blocking control'}"
          f"{f'; {len(ended_early)} cells did not run to their end' if ended_early else ''}; "
          f"report: {args.report_dir}")
    return 0 if document_mod.gate_passed(merged) else EXIT_FAILED

if __name__ == "__main__":
    sys.exit(main())
