"""The clipboard canary (SHR-02): text put on the host side of QEMU's clipboard through a VNC
client, watched for by a SPICE agent in the guest.

    trial = Clipboard(target).carry(guest, "vmiso-clip-1234")
    trial.port, trial.received      # None when the guest has no clipboard port

The VNC client connects on the hypervisor's host (helpers/host/target.py): from the lab's host
side, or through a real host's sshd to the display's listen address.
"""

import time
from dataclasses import dataclass
from typing import Optional

from helpers.host import vnc
from helpers.template.rules import CLIPBOARD_PORT
from helpers.verdict.undecided import Undecided
from helpers.vm import probes

AGENT_SECONDS = 30
ARRIVAL_S = 10


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
        displays = [(_reachable(where), p) for kind, where, p, password in guest.live.displays
                    if kind == "vnc" and p > 0 and not password]
        if not displays:
            raise Undecided(f"the guest has a {CLIPBOARD_PORT} port but no VNC display "
                              f"without a password to put a clipboard canary through")
        probes.start_clipboard_agent(guest, port, AGENT_SECONDS)
        address, display_port = displays[0]
        with self.target.open_host_socket(address, display_port, timeout=10) as sock:
            vnc.cut_text(sock, token)
        deadline = time.monotonic() + ARRIVAL_S
        while time.monotonic() < deadline:
            out = probes.clipboard_agent_output(guest)
            if "clipboard " in out:
                break
            time.sleep(0.3)
        received = [line.split(" ", 1)[1] for line in out.splitlines()
                    if line.startswith("clipboard ")]
        return Trial(port, f"VNC {address}:{display_port}", received[0] if received else "")


def _reachable(listen):
    """Where the host itself reaches a display listening on `listen`."""
    return "127.0.0.1" if listen in ("", "0.0.0.0", "::") else listen
