"""Canary listeners: TCP and UDP sockets that record every token that reaches them.

    with Listeners(netns="vmiso-1a2b3c", endpoints=[("tcp", "10.213.0.1", 22)]) as host:
        ...                     # the guest sends a token to 10.213.0.1:22
        host.reached("vmiso-canary-1234")   # [('tcp', '10.213.0.1', 22, '10.213.0.150')]

Arrival is judged on the receiving side: a token counts only when a listener read it.
"""

import selectors
import socket
import threading

from helpers.lab import netns


class Listeners:
    def __init__(self, netns_name, endpoints):
        self.netns = netns_name
        self.endpoints = list(endpoints)
        self.arrivals = []  # (proto, address, port, peer, payload)
        self._selector = selectors.DefaultSelector()
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        try:
            for proto, address, port in self.endpoints:
                kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
                sock = netns.bound_socket(self.netns, socket.AF_INET, kind, (address, port))
                if proto == "tcp":
                    sock.listen(16)
                sock.setblocking(False)
                self._selector.register(sock, selectors.EVENT_READ, (proto, address, port))
        except OSError:
            self.close()
            raise
        self._thread = threading.Thread(target=self._serve, name=f"canary-{self.netns}",
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()
        self._selector.close()

    def _serve(self):
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.1):
                proto, address, port = key.data
                try:
                    if proto == "tcp":
                        self._read_connection(key.fileobj, address, port)
                    else:
                        payload, peer = key.fileobj.recvfrom(512)
                        self.arrivals.append(("udp", address, port, peer[0], payload))
                except OSError:
                    continue

    def _read_connection(self, listener, address, port):
        conn, peer = listener.accept()
        with conn:
            conn.settimeout(2)
            try:
                payload = conn.recv(512)
            except socket.timeout:
                payload = b""
        self.arrivals.append(("tcp", address, port, peer[0], payload))

    def reached(self, token):
        """The endpoints a payload containing `token` arrived at, with the sender."""
        needle = token.encode()
        return sorted({(p, a, port, peer) for p, a, port, peer, payload in self.arrivals
                       if needle in payload})
