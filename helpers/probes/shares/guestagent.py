"""The host's way into a guest through the QEMU guest agent, tried through libvirt (SHR-03).

    attempt = try_exec(domain, "/tmp/vmiso-ga-1234", "vmiso-ga-1234")
    attempt.outcome      # 'refused by libvirt: ...', 'refused by the agent: ...' or 'ran'

The guest decides nothing here: whether the command ran is read in the guest afterwards.
"""

import base64
import json
import time
from dataclasses import dataclass

import libvirt
import libvirt_qemu

TIMEOUT_S = 10
# libvirt's answers when a domain has no agent channel, or nothing listens on it.
NO_CHANNEL = (libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED, libvirt.VIR_ERR_OPERATION_UNSUPPORTED)
UNRESPONSIVE = (libvirt.VIR_ERR_AGENT_UNRESPONSIVE, libvirt.VIR_ERR_AGENT_UNSYNCED)


class AgentUnreachable(Exception):
    """The channel exists but no agent answered: whether one would obey cannot be decided."""


@dataclass
class Attempt:
    outcome: str
    reached_agent: bool


def _command(domain, execute, **arguments):
    request = {"execute": execute, "arguments": arguments} if arguments else {"execute": execute}
    reply = libvirt_qemu.qemuAgentCommand(domain, json.dumps(request), TIMEOUT_S, 0)
    return json.loads(reply).get("return")


def _attempt(domain, steps):
    try:
        _command(domain, "guest-ping")
    except libvirt.libvirtError as err:
        if err.get_error_code() in NO_CHANNEL:
            return Attempt(f"refused by libvirt: {err.get_error_message()}", False)
        if err.get_error_code() in UNRESPONSIVE:
            raise AgentUnreachable(f"the guest agent channel exists but no agent answered "
                                   f"guest-ping: {err.get_error_message()}") from None
        raise
    try:
        steps()
    except libvirt.libvirtError as err:
        return Attempt(f"refused by the agent: {err.get_error_message()}", True)
    return Attempt("accepted", True)


def try_exec(domain, path, token):
    """Ask the agent to run a shell that writes `token` into `path` in the guest."""
    def steps():
        pid = _command(domain, "guest-exec", path="/bin/sh",
                       arg=["-c", f"echo {token} > {path}"])["pid"]
        deadline = time.monotonic() + TIMEOUT_S
        while not _command(domain, "guest-exec-status", pid=pid).get("exited"):
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
    return _attempt(domain, steps)


def try_file_write(domain, path, token):
    """Ask the agent to open `path` in the guest for writing and put `token` in it."""
    def steps():
        handle = _command(domain, "guest-file-open", path=path, mode="w")
        _command(domain, "guest-file-write", handle=handle,
                 **{"buf-b64": base64.b64encode(token.encode()).decode()})
        _command(domain, "guest-file-close", handle=handle)
    return _attempt(domain, steps)
