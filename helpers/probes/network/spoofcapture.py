"""Frames a guest forges (NET-04), watched for on a real host: on the device the guest's port
belongs to, through vmiso-canary (helpers/host/canaryagent.py).

    frames = HostSpoofCapture(agent, conn).frames_from(guest)   # {'genuine'} when it holds

The guest writes broadcast frames: a genuine one, one from a forged IP, one from a forged MAC
and a forged ARP claim. A broadcast frame that passes the port's filter is flooded to the
bridge's own device (a libvirt network's bridge, an <interface type='bridge'> bridge), or leaves
through a macvtap's lower device, where the capture sees it. The capture reports only frames
carrying this check's token (other guests' frames on the bridge are not read) and is stopped
when the check ends. The forged addresses are from
TEST-NET-1 (RFC 5737), which no host on a real network holds.
"""

import secrets
import time

import libvirt

from helpers.verdict.undecided import Undecided
from helpers.vm import probes

SETTLE_S = 1.0
FORGED_ADDRESS = "192.0.2.250"
DESTINATION = "192.0.2.1"
PORT = 9  # discard


def port_device(conn, iface):
    """The host device where frames the guest's interface lets through can be seen."""
    kind = iface.get("type")
    source = iface.find("source")
    if source is None:
        return None
    if kind == "network":
        try:
            return conn.networkLookupByName(source.get("network")).bridgeName()
        except libvirt.libvirtError:
            return None
    if kind == "bridge":
        return source.get("bridge")
    if kind == "direct":
        return source.get("dev")
    return None


class HostSpoofCapture:
    def __init__(self, agent, conn):
        self.agent = agent
        self.conn = conn

    def frames_from(self, guest):
        """The kinds of frame (genuine, ip, mac, arp) from `guest` seen past its port."""
        devices = [d for d in (port_device(self.conn, i) for i in guest.live.interfaces) if d]
        if not devices:
            raise Undecided("the guest's interfaces belong to no bridge or lower device the "
                            "host can capture on")
        token = f"vmiso-spoof-{secrets.token_hex(6)}"
        try:
            for device in devices:
                if not self.agent.capture(device, prefix=token):
                    raise Undecided(f"frames past the guest's port cannot be captured on "
                                    f"{device}: {self.agent.captures[device]}; run vmiso as "
                                    f"root on the host")
            start = len(self.agent.frames)
            probes.send_spoofed_frames(guest, probes.interface_with(guest, guest.address),
                                       token, FORGED_ADDRESS, DESTINATION, PORT)
            time.sleep(SETTLE_S)
        finally:
            for device in devices:
                self.agent.uncapture(device)
        return {f.text.removeprefix(f"{token}-") for f in self.agent.frames[start:]
                if f.iface in devices and f.direction == "in"
                and f.text.startswith(f"{token}-")}
