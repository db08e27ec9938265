"""A long-running command on the hypervisor's host, spoken to by lines on its stdin and stdout.

    process = hypervisor.spawn("/var/tmp/vmiso/canary/1a2b3c/vmiso-canary", "-", "22", "161")
    process.send("capture vnet0")
    for line in process.lines():    # until the command exits
        ...
    process.close()                 # stdin closed: the command is expected to exit on its own

Closing stdin is the stop signal, and it also reaches the command when the run dies: the pipe of
a killed parent closes, as does the SSH channel of a killed controller.
"""

import subprocess

import paramiko

STOP_TIMEOUT = 5


class LocalProcess:
    def __init__(self, argv):
        self.popen = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, bufsize=1)

    def send(self, line):
        self.popen.stdin.write(line + "\n")
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
            self.popen.wait()
        self.popen.stdout.close()
        self.popen.stderr.close()


class SshProcess:
    def __init__(self, client, command):
        self.channel = client.get_transport().open_session()
        self.channel.exec_command(command)
        self._stdin = self.channel.makefile_stdin("w")
        self._stdout = self.channel.makefile("r")

    def send(self, line):
        self._stdin.write(line + "\n")
        self._stdin.flush()

    def lines(self):
        for line in self._stdout:
            yield line.rstrip("\n")

    def error_text(self):
        if not self.channel.exit_status_ready():
            return ""
        return self.channel.makefile_stderr("r").read().decode(errors="replace")

    def close(self):
        try:
            self.channel.shutdown_write()
        except (OSError, paramiko.SSHException):
            pass
        self.channel.status_event.wait(STOP_TIMEOUT)
        self.channel.close()
