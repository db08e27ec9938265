"""The clipboard canary (SHR-02): text put on the host side of QEMU's clipboard through a VNC
client, watched for by a SPICE agent in the guest.

    trial = Clipboard(lab).carry(guest, "vmiso-clip-1234")
    trial.port, trial.received      # None when the guest has no clipboard port
"""

import time
from dataclasses import dataclass
from typing import Optional

from helpers.host import vnc
from helpers.lab import netns
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
    def __init__(self, lab):
        self.lab = lab

    def carry(self, guest, token):
        port = probes.virtio_port_device(guest, CLIPBOARD_PORT)
        if port is None:
            return Trial(None)
        displays = [p for kind, _, p, password in guest.live.displays
                    if kind == "vnc" and p > 0 and not password]
        if not displays:
            raise Undecided(f"the guest has a {CLIPBOARD_PORT} port but no VNC display "
                              f"without a password to put a clipboard canary through")
        probes.start_clipboard_agent(guest, port, AGENT_SECONDS)
        with netns.connect(self.lab.netns, ("127.0.0.1", displays[0]), timeout=10) as sock:
            vnc.cut_text(sock, token)
        deadline = time.monotonic() + ARRIVAL_S
        while time.monotonic() < deadline:
            out = probes.clipboard_agent_output(guest)
            if "clipboard " in out:
                break
            time.sleep(0.3)
        received = [line.split(" ", 1)[1] for line in out.splitlines()
                    if line.startswith("clipboard ")]
        return Trial(port, f"VNC 127.0.0.1:{displays[0]}", received[0] if received else "")
