"""Frames a guest forges (NET-04), watched for on the lab's uplink.

    frames = SpoofCapture(lab).frames_from(guest)   # {'genuine'} when anti-spoofing holds
"""

import secrets
import time

from helpers.lab import lab as lab_mod
from helpers.probes.network.capture import Capture
from helpers.vm import probes

SETTLE_S = 1.0


class SpoofCapture:
    """Frames a guest forges, captured on the lab's uplink (the far side of the bridge)."""

    FORGED_ADDRESS = "10.213.0.250"  # inside the lab's subnet, outside its DHCP range
    PORT = 9  # discard

    def __init__(self, lab):
        self.lab = lab

    def frames_from(self, guest):
        """The kinds of frame (genuine, ip, mac, arp) from `guest` that reached the uplink."""
        token = f"vmiso-spoof-{secrets.token_hex(6)}"
        interface = probes.interface_with(guest, guest.address)
        with Capture(self.lab.uplink_netns, "eth0") as capture:
            probes.send_spoofed_frames(guest, interface, token, self.FORGED_ADDRESS,
                                       lab_mod.UPLINK_ADDRESS, self.PORT)
            time.sleep(SETTLE_S)
        return capture.tagged(token)
