"""A raw frame capture on one interface of a lab namespace: the far side of the bridge, where
spoofed frames from a guest either arrive or were dropped (NET-04).

    with Capture("vmiso-1a2b3c-up", "eth0") as capture:
        ...                                   # the guest writes its frames
        capture.tagged("vmiso-spoof-12ab")    # {'genuine', 'arp'}: the kinds that arrived
"""

import re
import socket
import threading

from helpers.lab import netns

ETH_P_ALL = 0x0003


class Capture:
    def __init__(self, netns_name, interface):
        self.netns = netns_name
        self.interface = interface
        self.frames = []
        self._stop = threading.Event()
        self._thread = None
        self._sock = None

    def __enter__(self):
        with netns.entered(self.netns):
            self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                                       socket.htons(ETH_P_ALL))
        self._sock.bind((self.interface, 0))
        self._sock.settimeout(0.1)
        self._thread = threading.Thread(target=self._read, name=f"capture-{self.netns}",
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _read(self):
        while not self._stop.is_set():
            try:
                self.frames.append(self._sock.recv(2048))
            except socket.timeout:
                continue
            except OSError:
                return

    def tagged(self, token):
        """The kinds (the word after `token-`) of every captured frame that carries `token`."""
        pattern = re.compile(re.escape(token.encode()) + rb"-([a-z]+)")
        return {m.group(1).decode() for frame in list(self.frames)
                for m in pattern.finditer(frame)}
