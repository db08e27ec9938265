"""A shell kept open in a guest (helpers/vm/shell.py), here a local sh behind a channel's
methods: commands run one after another in the one shell, each with its output and status,
whatever they print; a command past its time or a shell that ends is an error, never a result."""

import os
import select
import socket
import subprocess

import pytest

from helpers.vm.shell import Done, Shell, parse


class Broken(Exception):
    pass


class PipeChannel:
    """sendall, recv, settimeout and close, as on a paramiko channel, on a local process."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.timeout = None

    def sendall(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def settimeout(self, seconds):
        self.timeout = seconds

    def recv(self, size):
        if not select.select([self.proc.stdout], [], [], self.timeout)[0]:
            raise socket.timeout()
        return os.read(self.proc.stdout.fileno(), size)

    def close(self):
        self.proc.stdin.close()
        self.proc.kill()
        self.proc.wait()


def shell(timeout=5):
    return Shell(PipeChannel(["sh", "-c", Shell.COMMAND]), "a local sh", timeout, Broken)


def test_commands_run_one_after_another_in_one_shell():
    with shell() as sh:
        assert sh.run("x=41; echo started") == Done(0, "started\n")
        assert sh.run("echo $((x + 1)); false") == Done(1, "42\n")
        assert sh.run("printf no-newline; echo oops >&2; (exit 3)") == \
            Done(3, "no-newlineoops\n")


def test_a_command_does_not_read_the_shells_own_input():
    with shell() as sh:
        assert sh.run("cat; echo after") == Done(0, "after\n")
        assert sh.run("echo still here").stdout == "still here\n"


def test_a_command_past_its_time_or_a_shell_that_ends_is_an_error():
    with shell(timeout=0.3) as sh, pytest.raises(Broken, match="did not finish within 0.3s"):
        sh.run("sleep 2")
    with shell() as sh, pytest.raises(Broken, match="the shell ended"):
        sh.run("exit 0")


def test_output_that_imitates_a_marker_is_only_output():
    assert parse(b"a\nfeedbeef 0\n", b"0123456789abcdef") is None
    assert parse(b"a\n\n0123456789abcdef 7", b"0123456789abcdef") is None  # not whole yet
    assert parse(b"a\n\n0123456789abcdef 7\n", b"0123456789abcdef") == Done(7, "a\n")
