"""Private scratch folders on this machine, the controller, that a killed run leaves behind no
longer than until the next run: each is named with its run's pid, and a run sweeps the ones of
runs that are gone before it makes its own.

    with scratch.folder("keys") as path:    # /tmp/vmiso-keys-PID-XXXXXXXX, 0700, removed on exit
        ...

A folder is swept only where it is a real folder (no link) of this user's, named as this module
names them, its run's pid no longer runs here, and it is older than STALE_S: a run in another PID
namespace may share the temp folder, and its pid means nothing here, but its folder lives for
well under a second.
"""

import os
import re
import shutil
import stat
import tempfile
import time

STALE_S = 600


def folder(purpose):
    """A TemporaryDirectory for `purpose`, after sweeping the ones a killed run left."""
    sweep(purpose)
    return tempfile.TemporaryDirectory(prefix=f"vmiso-{purpose}-{os.getpid()}-")


def sweep(purpose, now=None):
    """Remove the scratch folders for `purpose` of runs that are gone; the paths removed."""
    now = time.time() if now is None else now
    named = re.compile(rf"vmiso-{re.escape(purpose)}-(\d+)-\w+")
    removed = []
    with os.scandir(tempfile.gettempdir()) as entries:
        for entry in entries:
            match = named.fullmatch(entry.name)
            if match and _left_behind(entry, int(match.group(1)), now):
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(entry.path)
    return removed


def _left_behind(entry, pid, now):
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and \
        now - info.st_mtime > STALE_S and pid != os.getpid() and not _runs(pid)


def _runs(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
