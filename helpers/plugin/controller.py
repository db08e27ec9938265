"""A run of several cells: each template on each host in a pytest process of its own.

    pytest suites --template templates/ --libvirt-uri URI1 --libvirt-uri URI2 --max-parallel 4

The controller collects as any run does (so --control and -m select alike), builds the probe
guest once, then starts one process per cell with the same options, that cell's template, image
and host, the run's probe seed, and its own report folder under cells/. Cells of one host run
at once as far as its cores allow (a guest under TCG keeps a core busy); at most --max-parallel
hosts are driven at once, the rest wait. Each cell's controls.json is merged into the run's
report (helpers/output/merge.py); a cell that ended without one errs on each of its controls
with the line that ended it.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from guest import build as probe_guest
from helpers.output import document as document_mod
from helpers.output import merge as merge_mod
from helpers.plugin import cells, progress, sampling
from helpers.plugin.inputs import inputs_key
from helpers.plugin.options import CELL_ENV, infrastructure_failure
from helpers.plugin.report import item_controls
from helpers.verdict import rows, verdicts

DEFAULT_MAX_PARALLEL = 8
POLL_S = 0.1
STOP_GRACE_S = 60  # a cell stopped by the run tears its guests and lab down first
KILLED_S = 10  # a killed cell is gone at once, unless stuck in the kernel


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session):
    config = session.config
    plan = list(config.stash[inputs_key].cells)
    if config.option.collectonly or not cells.runs_cells(config, plan):
        return None
    report = config.pluginmanager.get_plugin("vmiso-report")
    selected = sorted({cid for item in session.items for cid in item_controls(item)},
                      key=list(report.catalog).index)
    if not selected:
        return True
    _build_probe_guest()
    seed = config.getoption("probe_seed")
    seed = sampling.new_seed() if seed is None else seed
    siblings = any("sibling" in item.fixturenames for item in session.items)
    pool = Pool(config, plan, seed, siblings)
    try:
        pool.run()
    finally:  # interrupted too: the cells that ran or were stopped report, the rest not run
        _conclude(config, report, pool.results(), selected, seed)
    return True


def _conclude(config, report, results, selected, seed):
    documents = [_document_of(report, cell, result, selected, seed) for cell, result in results]
    merged = merge_mod.merge(documents, config.getoption("fail_on"),
                             span=(report.started, time.time()))
    if config.getoption("shard"):
        merged["shard"] = "/".join(map(str, cells.shard(config)))
    report.document = merged
    report.refused = any(result is not None and result.returncode == 4 for _, result in results)
    report.cell_checks = [path for _, result in results if result is not None
                          if (path := result.folder / "checks.xml").exists()]


def _build_probe_guest():
    """Once here, so cells find it in the cache instead of each building it."""
    try:
        probe_guest.build(probe_guest.DEFAULT_CACHE)
    except probe_guest.BuildError as err:
        infrastructure_failure(f"cannot build the probe guest: {err}")


class CellResult:
    def __init__(self, folder, returncode, duration_s):
        self.folder = folder
        self.returncode = returncode
        self.duration_s = duration_s

    @property
    def log(self):
        return self.folder / "output.txt"

    def last_line(self):
        """The last line the cell's run printed (what ended it, where anything did)."""
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return "no output"
        return next((line.strip() for line in reversed(lines) if line.strip()),
                    "no output")[:300]


class Pool:
    """The cells' processes: started as hosts and cores allow, waited for, stopped on Ctrl-C."""

    def __init__(self, config, plan, seed, siblings):
        self.config = config
        self.plan = plan
        self.seed = seed
        self.guests_per_cell = 2 if siblings else 1
        self.max_hosts = config.getoption("max_parallel") or DEFAULT_MAX_PARALLEL
        self.folder = Path(config.getoption("report_dir")) / "cells"
        self.running = {}  # Popen -> (cell, folder, started)
        self.done = {}  # cell -> CellResult

    def run(self):
        shutil.rmtree(self.folder, ignore_errors=True)  # an earlier run's cells
        pending = list(self.plan)
        capacity = {uri: _cores(uri) // self.guests_per_cell or 1
                    for uri in dict.fromkeys(c.uri for c in self.plan)}
        try:
            while pending or self.running:
                running = [cell for cell, _, _ in self.running.values()]
                for cell in cells.startable(pending, running, capacity, self.max_hosts):
                    pending.remove(cell)
                    self._start(cell)
                self._reap()
        except BaseException:
            self._stop_all()
            raise

    def results(self):
        """(cell, CellResult) for every cell of the plan; None for one that never started."""
        return [(cell, self.done.get(cell)) for cell in self.plan]

    def _start(self, cell):
        folder = self.folder / f"{cell.position + 1:03d}-{_slug(cell)}"
        folder.mkdir(parents=True, exist_ok=True)
        spec = {"template": str(cell.template), "image": str(cell.image) if cell.image else None,
                "uri": cell.uri, "report_dir": str(folder), "probe_seed": self.seed}
        args = [sys.executable, "-m", "pytest", *self.config.invocation_params.args,
                "-p", "no:cacheprovider"]
        # Cells need no plugin of another package; autoloading them would also have pytest
        # rewrite the asserts of every hypothesis module at each cell's start (seconds, where
        # no bytecode is cached).
        env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", **{CELL_ENV: json.dumps(spec)})
        with open(folder / "output.txt", "wb") as log:
            process = subprocess.Popen(args, cwd=self.config.invocation_params.dir,
                                       stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, env=env)
        self.running[process] = (cell, folder, time.monotonic())
        progress.say(self.config, f"cell {cell.name}: started ({folder})")

    def _reap(self):
        time.sleep(POLL_S)
        for process in [p for p in self.running if p.poll() is not None]:
            cell, folder, started = self.running.pop(process)
            result = CellResult(folder, process.returncode, time.monotonic() - started)
            self.done[cell] = result
            progress.say(self.config, f"cell {cell.name}: exit {process.returncode} in "
                                      f"{result.duration_s:.1f} s")

    def _reap_killed(self, process, cell):
        """Wait for a killed cell; one stuck in the kernel past KILLED_S is left behind, its
        exit status unknown, rather than holding up the run's end."""
        try:
            process.wait(KILLED_S)
        except subprocess.TimeoutExpired:
            progress.say(self.config, f"cell {cell.name}: pid {process.pid} still runs "
                                      f"{KILLED_S} s after SIGKILL; left behind")

    def _stop_all(self):
        """Ctrl-C or SIGTERM: each cell stops as a run does (its guests and lab torn down)."""
        for process in self.running:
            process.terminate()
        deadline = time.monotonic() + STOP_GRACE_S
        for process, (cell, folder, started) in self.running.items():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                self._reap_killed(process, cell)
            self.done[cell] = CellResult(folder, process.returncode,
                                         time.monotonic() - started)


def _cores(uri):
    """The host's CPUs: this machine's for the lab, libvirt's count for a real host (1 where
    it cannot be asked: the cell will say why)."""
    if uri is None:
        return os.cpu_count() or 1
    import libvirt

    from helpers.host import libvirtconn
    from helpers.host.errors import HypervisorError
    libvirt.registerErrorHandler(lambda *_: None, None)
    try:
        conn = libvirtconn.open_connection(uri)
    except (libvirt.libvirtError, HypervisorError):
        return 1
    try:
        return conn.getInfo()[2]
    finally:
        conn.close()


def _slug(cell):
    host = (cell.uri or "lab").split("://")[-1]
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in
                   f"{cell.template.stem}-{host}")[:80]


def _document_of(report, cell, result, selected, seed):
    """The cell's own document, or one that errs on each selected control saying why not (the
    cell left only the report its start wrote, or none; not run, for a cell the run never
    started). The cell wrote it with this vmiso: it is read
    without the schema check (a fifth of a second each, seconds over a night's cells)."""
    if result is None:
        return _unreported(report, cell, selected, seed, verdicts.NOT_RUN,
                           document_mod.INTERRUPTED, "the run was interrupted before this "
                           "cell started", returncode=None, duration_s=0.0)
    try:
        document = json.loads((result.folder / "controls.json").read_text())
    except (OSError, ValueError):
        return _broken(report, cell, result, selected, seed)
    if any(entry["status"] == document_mod.RUNNING for entry in document["cells"]):
        return _broken(report, cell, result, selected, seed)  # it died before its end
    for entry in document["cells"]:
        entry.update(exit_status=result.returncode, duration_s=round(result.duration_s, 3),
                     uri=cell.uri, position=cell.position)
    return document


def _broken(report, cell, result, selected, seed):
    message = (f"the cell's run ended (exit {result.returncode}) without a report: "
               f"{result.last_line()} (see {result.log})")
    return _unreported(report, cell, selected, seed, verdicts.ERROR, document_mod.BROKEN,
                       message, result.returncode, result.duration_s)


def _unreported(report, cell, selected, seed, verdict, status, message, returncode,
                duration_s):
    """The document of a cell with no report of its own: each selected control `verdict`."""
    checks = [rows.undecided_check(f"cell {cell.name}", [cid], verdict, message)
              for cid in selected]
    context = {"host": {"uri": cell.uri or "the lab", "name": None}, "template": str(cell.template),
               "template_file": document_mod.file_facts(cell.template), "probe_seed": seed,
               "given_uri": cell.uri}
    finished = time.time()
    document = document_mod.build(report.controls(checks, context), context,
                                  finished - duration_s, finished,
                                  report.config.getoption("fail_on"), status=status,
                                  message=message)
    document["cells"][0].update(exit_status=returncode, position=cell.position)
    return document
