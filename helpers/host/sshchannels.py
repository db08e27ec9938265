"""SSH channels whose every wait ends: a command run to its end, a command started, an SFTP
session. Used for the guests (helpers/vm/ssh.py) and the hypervisor's host (hypervisor.py,
spawned.py).

    rc, out, err = sshchannels.run(transport, b"uname -r", 30, GuestUnreachable, "10.213.0.150")
    sftp = sshchannels.open_sftp(transport, 120, HypervisorError, "root@kvm1")

paramiko awaits the server's answer to a channel request (exec, subsystem) and a command's exit
status without a timeout, and reads a channel without one unless told: here the opening of the
session, the answer to the request, each read and the exit status each wait at most `timeout`
s, and `error(message)` names the one that did not end. A request left unanswered is broken off
by closing its channel (helpers/local/waits.py: deadline).
"""

import socket

import paramiko

from helpers.local import waits


def run(transport, command, timeout, error, where):
    """(exit status, stdout, stderr) of `command` (bytes) in a new session; a wait past
    `timeout` s, or a session that cannot be had, raises error(message)."""
    said = f"`{command.decode(errors='replace')[:80]}` on {where}"
    chan = _session(transport, timeout, error, where)
    try:
        _request(chan, timeout, error, said, chan.exec_command, command)
        stdout = chan.makefile("rb").read()
        stderr = chan.makefile_stderr("rb").read()
        if not chan.status_event.wait(timeout):
            raise error(f"{said} gave no exit status within {timeout:g}s of its output's end")
        return chan.recv_exit_status(), stdout, stderr
    except socket.timeout:
        raise error(f"{said} did not finish within {timeout:g}s") from None
    finally:
        chan.close()


def start(transport, command, timeout, error, where):
    """A channel running `command` (str), its request answered within `timeout` s; reads on it
    then wait as long as the command stays silent (the caller bounds what it awaits)."""
    chan = _session(transport, timeout, error, where)
    try:
        _request(chan, timeout, error, f"`{command[:80]}` on {where}", chan.exec_command,
                 command)
    except BaseException:
        chan.close()
        raise
    chan.settimeout(None)
    return chan


def open_sftp(transport, timeout, error, where):
    """An SFTP client on a new session, each of its requests answered within `timeout` s or
    failing with socket.timeout (an OSError without errno)."""
    chan = _session(transport, timeout, error, where)
    try:
        _request(chan, timeout, error, f"SFTP on {where}", chan.invoke_subsystem, "sftp")
        return paramiko.SFTPClient(chan)
    except socket.timeout:
        chan.close()
        raise error(f"SFTP on {where} did not start within {timeout:g}s") from None
    except BaseException:
        chan.close()
        raise


def _session(transport, timeout, error, where):
    if transport is None or not transport.is_active():
        raise error(f"ssh session to {where} is closed")
    try:
        chan = transport.open_session(timeout=timeout)
    except paramiko.SSHException as err:
        raise error(f"ssh to {where}: no session ({err})") from None
    chan.settimeout(timeout)
    return chan


def _request(chan, timeout, error, said, request, *args):
    """A channel request whose answer paramiko awaits without a timeout: the channel is closed
    when none came within `timeout` s, which ends the wait."""
    with waits.deadline(timeout, chan.close) as fired:
        try:
            request(*args)
        except (paramiko.SSHException, EOFError, OSError):
            if not fired.is_set():
                raise  # the server refused, or the connection broke: as paramiko said
    if fired.is_set():
        raise error(f"{said}: the server did not answer the request within {timeout:g}s")
