"""The suite run as a user runs it, in a subprocess: the one launcher every self-test uses.

    proc = suite("suites", "--control", "HV-01")                      # a CompletedProcess
    proc = vmiso("--template", "leaky")          # the vmiso command, as a user runs it
    proc, report = run_suite(report_dir, "suites", "--template", "leaky")   # report read back
    process = start("suites", "-v", report_dir=tmp_path)              # a Popen, to interrupt

Every finished run is checked for a lab it left behind.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 900
# As `make conformance` runs it: the suite needs no plugin of another package, and loading
# every installed one (hypothesis, testinfra, xdist) costs most of a second per run.
NO_AUTOLOAD = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
VMISO = Path(".venv/bin/vmiso")  # in the clone: make venv installs it
STATE_DIR = Path("/run/vmiso")
CGROUP_ROOT = "/sys/fs/cgroup"


def start(*options, clone=ROOT, prefix=(), env=None, inherit_env=True, merge_stderr=False,
          command=None):
    """pytest with `options` in `clone`, running: `prefix` runs it (another namespace, another
    user), `env` adds variables to this process's environment (or replaces it without
    `inherit_env`); `command` in place of pytest (e.g. the vmiso command, VMISO)."""
    return subprocess.Popen(
        [*prefix, *(command or [sys.executable, "-u", "-m", "pytest"]), *options], cwd=clone,
        text=True, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
        env={**(os.environ if inherit_env else {}), **NO_AUTOLOAD, **(env or {})})


def start_vmiso(*args, **how):
    """`vmiso conformance ARGS` as a user runs it: the launcher `make venv` installs, in the
    clone (a Popen; see start for `how`)."""
    return start(*args, command=[str(how.get("clone", ROOT) / VMISO), "conformance"], **how)


def vmiso(*args, timeout=RUN_TIMEOUT, **how):
    """`vmiso conformance ARGS`, finished; it must leave no lab behind."""
    return finished(start_vmiso(*args, **how), timeout)


def suite(*options, timeout=RUN_TIMEOUT, **how):
    """pytest with `options`, finished (see start for `how`); it must leave no lab behind. A
    run given no --report-dir writes its report in a folder of its own, removed after (runs
    side by side would otherwise all want the checkout's reports/)."""
    with tempfile.TemporaryDirectory(prefix="vmiso-reports-") as reports:
        if "--report-dir" not in options:
            options = (*options, "--report-dir", reports)
        return finished(start(*options, **how), timeout)


def finished(process, timeout):
    """The run's CompletedProcess once it ended; it must leave no lab behind."""
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    assert not labs_of(process.pid), f"run {process.pid} left its lab behind"
    assert not orphaned_labs(), f"a cell of run {process.pid} left its lab behind"
    stray = [c for c in lab_cgroups() if not (STATE_DIR / c.name.removeprefix("vmiso-")).exists()]
    assert not stray, f"run {process.pid} left lab cgroups behind: {stray}"
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def interrupt(process, sig):
    """Signal a run that is still going; it must end as an interrupted run does. Its output
    (stdout, stderr; stderr None where it was merged)."""
    assert process.poll() is None, "the run ended before the signal: it proves no interrupt"
    process.send_signal(sig)
    out, err = process.communicate(timeout=120)
    said = out + (err or "")
    assert process.returncode == pytest.ExitCode.INTERRUPTED, said[-3000:]
    assert "KeyboardInterrupt" in said, said[-3000:]
    return out, err


def run_suite(report_dir, *options, **how):
    """A run writing its reports to `report_dir`, and its controls.json read back."""
    proc = suite(*options, "--report-dir", str(report_dir), "-q", "--tb=line", **how)
    report_file = Path(report_dir) / "controls.json"
    if not report_file.exists():
        raise AssertionError(f"the run wrote no report (exit {proc.returncode}): "
                             f"{proc.stdout[-1500:]} {proc.stderr[-1500:]}")
    return proc, json.loads(report_file.read_text())


def labs_of(pid):
    """Lab state folders whose owner is the run with this pid."""
    return [d for d in STATE_DIR.glob("*/owner") if d.read_text().strip() == str(pid)]


def orphaned_labs():
    """Lab state folders whose owner is gone (a run's cells own their labs)."""
    found = []
    for owner in STATE_DIR.glob("*/owner"):
        try:
            os.kill(int(owner.read_text().strip()), 0)
        except (ProcessLookupError, ValueError):
            found.append(owner.parent)
        except OSError:
            continue
    return found


def lab_cgroups(run_id=""):
    """The cgroup folders of lab `run_id` (of every lab without one) on this machine."""
    found = []
    for folder, subfolders, _ in os.walk(CGROUP_ROOT):
        mine = [d for d in subfolders if d.startswith(f"vmiso-{run_id}")]
        found += [Path(folder) / d for d in mine]
        subfolders[:] = [d for d in subfolders if d not in mine]
    return found


def statuses(report):
    return {c["id"]: c["status"] for c in report["controls"]}


def why(report, controls):
    """What the checks of `controls` said where they did not pass: the report's own account,
    which a run's last lines of output seldom hold."""
    rows = {c["id"]: c for c in report["controls"]}
    said = []
    for cid in sorted(controls):
        row = rows.get(cid)
        unpassed = [check for check in row["checks"] if check["verdict"] != "pass"] if row else []
        said += [f'{cid} {row["status"]}: {check["check"]}: {check["message"] or check["verdict"]}'
                 for check in unpassed]
        if not unpassed:
            said.append(f'{cid}: {row["status"] + ", every check passed" if row else "no row"}')
    return "\n".join(said)


def unlike(report, expected):
    """What the report said of each control whose status differs from `expected`'s."""
    found = statuses(report)
    return why(report, {cid for cid in found.keys() | expected.keys()
                        if found.get(cid) != expected.get(cid)})
