"""Which lab folders a run's start sweeps: a killed run's, never a live run's, nor one another run
has just made and not yet named its owner in. The teardown itself is left out (the interrupt
and sweep self-tests in test_leftovers.py run it); here only the decision, in a folder of the
test's own. A self-test because helpers/lab/lab.py imports libvirt."""

import os
import subprocess
import sys

from helpers.lab import lab


def swept(state_dir, monkeypatch):
    torn_down = []
    monkeypatch.setattr(lab, "teardown", lambda root: torn_down.append(root.name))
    assert lab.sweep(state_dir) == torn_down
    return torn_down


def dead_pid():
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


def test_a_killed_runs_lab_is_swept_and_a_live_ones_kept(tmp_path, monkeypatch):
    for name, owner in (("dead", dead_pid()), ("live", os.getpid())):
        (tmp_path / name).mkdir()
        (tmp_path / name / "owner").write_text(str(owner))
    assert swept(tmp_path, monkeypatch) == ["dead"]


def test_a_lab_being_made_is_kept_until_it_is_old(tmp_path, monkeypatch):
    (tmp_path / "new").mkdir()
    assert swept(tmp_path, monkeypatch) == []
    old = (tmp_path / "new").stat().st_mtime - lab.OWNER_GRACE_S - 1
    os.utime(tmp_path / "new", (old, old))
    assert swept(tmp_path, monkeypatch) == ["new"]


def test_an_unreadable_owner_is_swept(tmp_path, monkeypatch):
    (tmp_path / "garbled").mkdir()
    (tmp_path / "garbled" / "owner").write_text("not a pid")
    assert swept(tmp_path, monkeypatch) == ["garbled"]
