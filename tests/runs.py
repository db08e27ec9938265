"""The suite run as a user runs it, in a subprocess, with its report read back.

    proc, report = run_suite(report_dir, "suites", "--template", "leaky", ...)
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN_TIMEOUT = 900


def run_suite(report_dir, *options, env=None, prefix=(), clone=ROOT):
    """Run pytest with `options` (env: extra environment variables; prefix: a command that runs
    it, e.g. in another namespace; clone: the checkout whose suite runs) and read its report."""
    proc = subprocess.run([*prefix, sys.executable, "-m", "pytest", *options,
                           "--report-dir", str(report_dir), "-q", "--tb=line"],
                          cwd=clone, capture_output=True, text=True, timeout=RUN_TIMEOUT,
                          env={**os.environ, **(env or {})})
    report_file = Path(report_dir) / "controls.json"
    if not report_file.exists():
        raise AssertionError(f"the run wrote no report (exit {proc.returncode}): "
                             f"{proc.stdout[-1500:]} {proc.stderr[-1500:]}")
    return proc, json.loads(report_file.read_text())


def statuses(report):
    return {c["id"]: c["status"] for c in report["controls"]}
