"""A long-running command on the hypervisor's host, spoken to by lines on its stdin and stdout.

    process = hypervisor.spawn("/var/tmp/vmiso/canary/1a2b3c/vmiso-canary", "-", "22", "161")
    process.send("capture vnet0")
    for line in process.lines():    # until the command exits
        ...
    process.close()                 # stdin closed: the command is expected to exit on its own

Closing stdin is the stop signal, and it also reaches the command when the run dies: the pipe of
a killed parent closes, as does the SSH channel of a killed controller.

A line the command does not take within ANSWER_TIMEOUT (it stopped reading) ends the command
and raises TimeoutError; a command that does not exit within STOP_TIMEOUT of its stop is killed.
`lines()` waits as long as the command is silent: a thread of its own reads them, and whatever
awaits a line bounds that wait (helpers/host/canaryagent.py).
"""

import subprocess

import paramiko

from helpers.host import sshchannels
from helpers.host.errors import HypervisorError
from helpers.local import waits

STOP_TIMEOUT = 5
ANSWER_TIMEOUT = 30  # the host's sshd answering the request to run it; a line taken from stdin


class LocalProcess:
    def __init__(self, argv):
        self.name = argv[0]
        self.popen = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, bufsize=1)

    def send(self, line):
        _send(self._write, line, self.popen.kill, self.name)

    def _write(self, text):
        self.popen.stdin.write(text)
        self.popen.stdin.flush()

    def lines(self):
        for line in self.popen.stdout:
            yield line.rstrip("\n")

    def error_text(self):
        return self.popen.stderr.read() if self.popen.poll() is not None else ""

    def close(self):
        try:
            self.popen.stdin.close()
        except OSError:
            pass
        try:
            self.popen.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            _reaped(self.popen, self.name)
        self.popen.stdout.close()
        self.popen.stderr.close()


class SshProcess:
    def __init__(self, client, command, where):
        self.name = f"`{command[:80]}` on {where}"
        self.channel = sshchannels.start(client.get_transport(), command, ANSWER_TIMEOUT,
                                         HypervisorError, where)
        self._stdin = self.channel.makefile_stdin("w")
        self._stdout = self.channel.makefile("r")

    def send(self, line):
        _send(self._write, line, self.channel.close, self.name)

    def _write(self, text):
        self._stdin.write(text)
        self._stdin.flush()

    def lines(self):
        for line in self._stdout:
            yield line.rstrip("\n")

    def error_text(self):
        """What it said on stderr once it exited (what came within STOP_TIMEOUT)."""
        if not self.channel.exit_status_ready():
            return ""
        with waits.deadline(STOP_TIMEOUT, self.channel.close):
            return self.channel.makefile_stderr("r").read().decode(errors="replace")

    def close(self):
        try:
            self.channel.shutdown_write()
        except (OSError, paramiko.SSHException):
            pass
        self.channel.status_event.wait(STOP_TIMEOUT)
        self.channel.close()


def _send(write, line, stop, name):
    """write(line + newline), or after ANSWER_TIMEOUT stop() (which ends the write) and
    TimeoutError."""
    with waits.deadline(ANSWER_TIMEOUT, stop) as fired:
        try:
            write(line + "\n")
        except (OSError, ValueError):
            if not fired.is_set():
                raise
    if fired.is_set():
        raise TimeoutError(f"{name} did not take the line {line!r} within {ANSWER_TIMEOUT} s "
                           f"(it stopped reading its input) and was stopped")


def _reaped(popen, name):
    """Wait for a killed process; HypervisorError if even SIGKILL did not end it in time (a
    process stuck in the kernel)."""
    try:
        popen.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise HypervisorError(f"{name} did not exit within {STOP_TIMEOUT} s of SIGKILL") from None
