"""A report folder: controls.json, report.html, junit.xml and checks.xml, and the history.

    folder = ReportFolder(Path("reports")).claim()   # FolderBusy: another run holds it
    finish(document, baseline=None, history_dir=Path("/var/lib/vmiso/history"))
    write(document, Path("reports"), checks=[Path("reports/cells/001-hardened-lab/checks.xml")])
    folder.release()

A run and a merge of shards end alike: compared with the baseline given, else with the run
before it in the history; the history's strip added; the files written; the document recorded.
A run holds its folder for its whole life (a lock file, .vmiso.lock, removed at its end): it
clears the previous run's files when it claims it, and each file is written aside and renamed
into place, so a reader never sees half a file or a mix of two runs.
"""

import fcntl
import json
import os
import shutil
import time
from pathlib import Path

from helpers.local import atomicfile
from helpers.output import checksxml, history, html, junit
from helpers.output import document as document_mod
from helpers.verdict import rows, verdicts

LOCK_NAME = ".vmiso.lock"
# What a run writes in its folder: the files a claim clears, whatever the previous run left.
RUN_FILES = ("controls.json", "report.html", "junit.xml", "checks.xml")
RUN_FOLDERS = ("cells",)


class ReportError(ValueError):
    """The history or the baseline cannot be used; the message names it and the fix."""


class FolderBusy(ReportError):
    """Another run holds the report folder."""


class ReportFolder:
    """A run's report folder, held by a lock (flock on .vmiso.lock in it) until release() or the
    process's end."""

    def __init__(self, path):
        self.path = Path(path)
        self.fd = None

    def claim(self):
        """Hold the folder (made if need be) and clear the previous run's files in it."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self.fd = _locked(self.path / LOCK_NAME)
        except BlockingIOError:
            raise FolderBusy(f"report folder {self.path} is in use by another vmiso run "
                             f"({_holder(self.path / LOCK_NAME)}); give this run another "
                             f"--report-dir, or wait for that one to end") from None
        except OSError as err:
            raise ReportError(f"report folder {self.path} cannot be used ({err.strerror}); "
                              f"give --report-dir a folder this user may write") from None
        os.ftruncate(self.fd, 0)
        os.write(self.fd, f"pid {os.getpid()}\n".encode())
        for name in RUN_FILES + RUN_FOLDERS:
            _remove(self.path / name)
        return self

    def release(self):
        """The lock file removed, then the lock let go: the folder keeps the report alone."""
        if self.fd is not None:
            _remove(self.path / LOCK_NAME)
            os.close(self.fd)
            self.fd = None


def _locked(path):
    """An fd holding an exclusive lock on `path`, a regular file never reached through a link;
    a lock file replaced meanwhile is opened again (its holder removed or renamed it)."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.fstat(fd).st_ino == os.lstat(path).st_ino:
                return fd
        except FileNotFoundError:
            pass
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def _holder(path):
    try:
        return path.read_text().strip() or "pid unknown"
    except OSError:
        return "pid unknown"


def _remove(path):
    """A file or folder the previous run wrote; a link is removed, never followed."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        pass


def write_did_not_run(report_dir, catalog, message, started, template=None, fail_on="any"):
    """The report of a run that ended before vmiso's report plugin could write one (pytest
    refused an option): each control of `catalog` not run, saying `message`. Nothing is written
    where another run holds the folder."""
    try:
        folder = ReportFolder(report_dir).claim()
    except ReportError:
        return False
    checks = [rows.undecided_check("vmiso", [cid], verdicts.NOT_RUN, message)
              for cid in catalog]
    context = {"template": template}
    document = document_mod.build(rows.rows(catalog, checks), context, started, time.time(),
                                  fail_on, status=document_mod.DID_NOT_RUN, message=message)
    try:
        write(document, folder.path)
    finally:
        folder.release()
    return True


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
    atomicfile.replace(report_dir / "controls.json", json.dumps(document, indent=2) + "\n")
    atomicfile.replace(report_dir / "report.html", html.render(document))
    atomicfile.replace(report_dir / "junit.xml", junit.render(document))
    if checks:
        atomicfile.replace(report_dir / "checks.xml", checksxml.render(list(checks)))
    if history_dir is not None:
        history.record(document, Path(history_dir))
