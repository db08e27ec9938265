"""The clipboard canary (SHR-02): text put on the host side of the guest's clipboard channel,
watched for by a SPICE agent in the guest (vmiso-probe vdagent). A qemu-vdagent channel takes the
clipboard of QEMU's VNC server, where a minimal RFB client puts it (helpers/probes/shares/vnc.py); a
spicevmc channel takes a SPICE client's, and spice-gtk's GLib client offers it
(helpers/probes/shares/spiceclient.py, in Debian's python3 with python3-gi).

    trial = Clipboard(target).carry(guest, "vmiso-clip-1234")
    trial.port, trial.received      # None when the guest has no clipboard port

Both clients reach the display on the hypervisor's host (helpers/vm/target.py): from the lab's
host side, or through a real host's sshd to the display's listen address.
"""

import subprocess
import time
from dataclasses import dataclass
from typing import Optional

from helpers import CHECKOUT
from helpers.host.portforward import Forward
from helpers.probes.shares import vnc
from helpers.template.rules import CLIPBOARD_PORT
from helpers.verdict.undecided import Undecided
from helpers.vm import probes

AGENT_SECONDS = 30
ARRIVAL_S = 10
CLIENT_STOP_S = 10  # the SPICE client leaves its GLib loop at SIGTERM at once
SYSTEM_PYTHON = "/usr/bin/python3"  # where Debian's python3-gi and SpiceClientGLib are


@dataclass
class Trial:
    port: Optional[str]  # the guest's /dev node for com.redhat.spice.0
    display: str = ""
    received: str = ""  # what the guest's agent read from the clipboard


class Clipboard:
    def __init__(self, target):
        self.target = target

    def carry(self, guest, token):
        port = probes.virtio_port_device(guest, CLIPBOARD_PORT)
        if port is None:
            return Trial(None)
        kinds = {c.kind for c in guest.live.channels if c.target_name == CLIPBOARD_PORT}
        kind = "spice" if "spicevmc" in kinds else "vnc"
        displays = [(_reachable(where), p) for k, where, p, password in guest.live.displays
                    if k == kind and p > 0 and not password]
        if not displays:
            raise Undecided(f"the guest has a {CLIPBOARD_PORT} port but no {kind.upper()} "
                            f"display without a password to put a clipboard canary through")
        address, display_port = displays[0]
        if kind == "vnc":
            probes.start_clipboard_agent(guest, port, AGENT_SECONDS)
            with self.target.open_host_socket(address, display_port, timeout=10) as sock:
                vnc.cut_text(sock, token)
            out = _agent_output(guest)
        else:
            probes.start_clipboard_agent(guest, port, AGENT_SECONDS, wait=False)
            with Forward(self.target.open_host_socket, address, display_port) as local:
                out = _offer_over_spice(guest, local, token)
        received = [line.split(" ", 1)[1] for line in out.splitlines()
                    if line.startswith("clipboard ")]
        return Trial(port, f"{kind.upper()} {address}:{display_port}",
                     received[0] if received else "")


def _agent_output(guest):
    """The guest agent's output once the canary arrived or ARRIVAL_S passed."""
    deadline = time.monotonic() + ARRIVAL_S
    while True:
        out = probes.clipboard_agent_output(guest)
        if "clipboard " in out or time.monotonic() > deadline:
            return out
        time.sleep(0.3)


def _offer_over_spice(guest, local_port, token):
    client = subprocess.Popen(
        [SYSTEM_PYTHON, "-m", "helpers.probes.shares.spiceclient", "127.0.0.1", str(local_port),
         token, str(ARRIVAL_S + 5)], cwd=CHECKOUT, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        out = _agent_output(guest)
    finally:
        said = _stopped(client)
    if said.startswith("error"):
        raise Undecided(f"the SPICE client could not run ({said.strip()}): install python3-gi "
                        f"and gir1.2-spiceclientglib-2.0 (make deps)")
    if "vdagent ready" not in out:
        raise Undecided(f"the guest's clipboard agent never exchanged capabilities with the "
                        f"SPICE client (client: {' / '.join(said.splitlines()[-4:]) or 'silent'}"
                        f"; agent: {out.strip() or 'silent'}): the clipboard probe cannot decide")
    return out


def _stopped(client):
    """What the SPICE client said, once it stopped (SIGTERM, then SIGKILL)."""
    client.terminate()
    try:
        return client.communicate(timeout=CLIENT_STOP_S)[0]
    except subprocess.TimeoutExpired:
        client.kill()
        client.communicate(timeout=CLIENT_STOP_S)
        raise Undecided(f"the SPICE client did not stop within {CLIENT_STOP_S} s of SIGTERM: "
                        f"the clipboard probe cannot decide") from None


def _reachable(listen):
    """Where the host itself reaches a display listening on `listen`."""
    return "127.0.0.1" if listen in ("", "0.0.0.0", "::") else listen
