"""The lab's daemons start under helpers/lab/reaper.py: it answers the command's exit status at
once, and adopts and reaps whatever the command left running."""

import subprocess
import sys
import time
from pathlib import Path

REAPER = Path(__file__).resolve().parents[2] / "helpers/lab/reaper.py"  # the lab's (lab.REAPER)


def reaper(command, **kwargs):
    return subprocess.run([sys.executable, "-I", str(REAPER), "sh", "-c", command],
                          capture_output=True, text=True, timeout=30, **kwargs)


def test_the_commands_exit_status_and_output_are_the_callers():
    done = reaper("echo started; exit 3")
    assert (done.returncode, done.stdout) == (3, "started\n")
    assert reaper("exec /nonexistent/daemon").returncode == 127


def test_what_the_command_leaves_running_is_adopted_and_reaped(tmp_path):
    pidfile = tmp_path / "pid"
    done = reaper(f"(sleep 1; exit 0) </dev/null >/dev/null 2>&1 & echo $! > {pidfile}")
    assert done.returncode == 0
    orphan = int(pidfile.read_text())
    adopter = _parent(orphan)
    assert adopter not in (1, None) and str(REAPER) in _cmdline(adopter)
    deadline = time.monotonic() + 20
    while Path(f"/proc/{orphan}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{orphan}").exists()  # reaped: no zombie waits for init


def _parent(pid):
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def _cmdline(pid):
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
