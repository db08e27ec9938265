"""One way to run a command on this machine: its output, or the caller's error with the end of
what the command said.

    out = command.run("ip", "netns", "list", error=LabError, purpose="the local lab")
    command.run("debootstrap", ..., error=BuildError, purpose="building the cloud image",
                own_group=True)

A missing program names `make deps`; a failure names the command and the last of its stderr
(its stdout where stderr is empty); a command past its timeout is a failure too. With
`own_group`, the command runs in its own process group, killed on any exit from here (an error,
Ctrl-C, SIGTERM), so that nothing it started outlives the caller.
"""

import os
import shlex
import signal
import subprocess

SAID = 300  # characters of the command's own words in an error
KILLED_S = 10  # a killed command is gone at once, unless stuck in the kernel


def run(*argv, error, purpose, check=True, timeout=None, cwd=None, env=None, own_group=False):
    """The finished process (stdout, stderr as text); `error(message)` raised when the program
    is missing, ran past `timeout` or, with `check`, exited non-zero."""
    argv = [str(a) for a in argv]
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=cwd, env=env, start_new_session=own_group)
    except FileNotFoundError:
        raise error(f"'{argv[0]}' is required for {purpose}: run `make deps`") from None
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(proc, own_group)
        raise error(f"`{shlex.join(argv)}` did not finish within {timeout:g} s") from None
    except BaseException:
        _stop(proc, own_group)
        raise
    if check and proc.returncode != 0:
        said = (err.strip() or out.strip())[-SAID:]
        raise error(f"`{shlex.join(argv)}` failed (exit {proc.returncode}): {said}")
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def _stop(proc, own_group):
    try:
        if own_group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except ProcessLookupError:
        pass
    try:
        proc.wait(KILLED_S)
    except subprocess.TimeoutExpired:
        pass  # left to the kernel; the caller raises its own error (the timeout, the Ctrl-C)
