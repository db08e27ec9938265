"""The controller's scratch folders: a killed run's are swept by the next run, and nothing else
in the temp folder is touched."""

import os
import subprocess
import sys

import pytest

from helpers.local import scratch


@pytest.fixture
def tmp(tmp_path, monkeypatch):
    monkeypatch.setattr(scratch.tempfile, "tempdir", str(tmp_path))
    return tmp_path


def dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def made(tmp, name, age_s=0.0, mode=0o700):
    path = tmp / name
    path.mkdir(mode=mode)
    (path / "host_key").write_text("secret")
    old = path.stat().st_mtime - age_s
    os.utime(path, (old, old))
    return path


def test_a_folder_is_private_named_for_its_run_and_gone_after(tmp):
    with scratch.folder("keys") as path:
        assert os.path.basename(path).startswith(f"vmiso-keys-{os.getpid()}-")
        assert os.stat(path).st_mode & 0o777 == 0o700
    assert not os.path.exists(path)


def test_only_a_stale_folder_of_a_gone_run_of_this_user_is_swept(tmp):
    gone = dead_pid()
    stale = made(tmp, f"vmiso-keys-{gone}-abc123", age_s=2 * scratch.STALE_S)
    fresh = made(tmp, f"vmiso-keys-{gone}-def456")  # another PID namespace's run, still making
    live = made(tmp, f"vmiso-keys-{os.getppid()}-ghi789", age_s=2 * scratch.STALE_S)
    other = made(tmp, f"vmiso-other-{gone}-jkl012", age_s=2 * scratch.STALE_S)
    target = made(tmp, "elsewhere", age_s=2 * scratch.STALE_S)
    link = tmp / f"vmiso-keys-{gone}-mno345"
    link.symlink_to(target)
    others = made(tmp, f"vmiso-keys-{gone}-pqr678", age_s=2 * scratch.STALE_S)
    if os.geteuid() == 0:
        os.chown(others, 65534, 65534)  # another user's, made first in a shared /tmp
    else:
        others = link
    assert scratch.sweep("keys", now=stale.stat().st_mtime + 2 * scratch.STALE_S) == \
        [str(stale)]
    assert not stale.exists()
    assert all(p.exists() for p in (fresh, live, other, target / "host_key", link, others))
