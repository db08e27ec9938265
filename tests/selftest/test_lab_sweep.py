"""Which lab folders a run's start sweeps: a killed run's, never a live run's (wherever its runner
is: another PID namespace too), nor one another run has just made and not yet named its owner
in; and a state folder that is a link is never entered. The teardown itself is left out (the
interrupt and sweep self-tests in test_leftovers.py run it); here only the decision, in a folder
of the test's own. A self-test because helpers/lab/lab.py imports libvirt."""

import os
import subprocess
import sys
import time

import pytest

from helpers.lab import lab


def swept(state_dir, monkeypatch):
    torn_down = []
    monkeypatch.setattr(lab, "teardown", lambda root: torn_down.append(root.name))
    assert lab.sweep(state_dir) == torn_down
    return torn_down


def held_elsewhere(owner):
    """A process in a PID namespace of its own holding `owner` as a live run does (it ends with
    the test)."""
    proc = subprocess.Popen(
        ["unshare", "--pid", "--fork", "--kill-child", sys.executable, "-c",
         "import fcntl, sys, time; f = open(sys.argv[1], 'w'); fcntl.flock(f, fcntl.LOCK_EX); "
         "print('held', flush=True); time.sleep(600)", str(owner)],
        stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_killed_runs_lab_is_swept_and_a_live_ones_kept(tmp_path, monkeypatch):
    for name in ("dead", "live", "neighbour"):
        (tmp_path / name).mkdir()
    (tmp_path / "dead" / lab.OWNER).write_text("12345\n")  # its runner's lock went with it
    live = lab._hold(tmp_path / "live" / lab.OWNER)
    neighbour = held_elsewhere(tmp_path / "neighbour" / lab.OWNER)
    try:
        assert swept(tmp_path, monkeypatch) == ["dead"]
    finally:
        live.close()
        neighbour.kill()  # its child, the holder, is killed with it, a moment later
        neighbour.wait()
    deadline = time.monotonic() + 10
    while len(found := swept(tmp_path, monkeypatch)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(found) == ["dead", "live", "neighbour"]


def test_a_lab_being_made_is_kept_until_it_is_old(tmp_path, monkeypatch):
    (tmp_path / "new").mkdir()
    assert swept(tmp_path, monkeypatch) == []
    old = (tmp_path / "new").stat().st_mtime - lab.OWNER_GRACE_S - 1
    os.utime(tmp_path / "new", (old, old))
    assert swept(tmp_path, monkeypatch) == ["new"]


def test_an_owner_that_is_no_file_is_swept(tmp_path, monkeypatch):
    (tmp_path / "garbled").mkdir()
    (tmp_path / "garbled" / lab.OWNER).mkdir()  # not a file anyone could have locked
    assert swept(tmp_path, monkeypatch) == ["garbled"]


def test_a_state_folder_that_is_a_link_is_refused_and_what_it_points_to_untouched(tmp_path):
    victim = tmp_path / "victim"
    (victim / "unlocked").mkdir(parents=True)  # what a sweep through the link would tear down
    victim.chmod(0o755)
    (tmp_path / "state").symlink_to(victim)
    with pytest.raises(lab.LabError, match="state on the host is a symbolic link"):
        lab.Lab.start(tmp_path / "state", tmp_path / "cache")
    assert (victim / "unlocked").is_dir() and victim.stat().st_mode & 0o777 == 0o755
