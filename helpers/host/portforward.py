"""A port on this machine's loopback that leads to a service of the hypervisor's host: what an
ordinary client (a SPICE client opens a connection per channel) connects to.

    with Forward(target.open_host_socket, "127.0.0.1", 5901) as port:
        ...   # connect to 127.0.0.1:port here; each connection is carried to the host's 5901

Each accepted connection gets a connection of its own through `open_socket` (from the lab's host
side, or a direct-tcpip channel of the remote host's sshd) and two threads copying bytes. Those
threads wait as long as the client and the service stay silent (a display may, for minutes);
leaving the `with` block shuts every socket down, which ends their waits (closing a socket
alone does not wake a thread blocked on it).
"""

import contextlib
import socket
import threading

CONNECT_TIMEOUT = 10


class Forward:
    def __init__(self, open_socket, address, port):
        self.open_socket = open_socket
        self.address = address
        self.port = port
        self._listener = None
        self._open = []

    def __enter__(self):
        self._listener = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._accept, daemon=True, name="vmiso-forward").start()
        return self._listener.getsockname()[1]

    def __exit__(self, *exc):
        for sock in [self._listener] + self._open:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self):
        while True:
            try:
                near, _ = self._listener.accept()
            except OSError:
                return  # closed
            try:
                far = self.open_socket(self.address, self.port, CONNECT_TIMEOUT)
            except OSError:
                near.close()
                continue
            self._open += [near, far]
            for source, sink in ((near, far), (far, near)):
                threading.Thread(target=_copy, args=(source, sink), daemon=True,
                                 name="vmiso-forward-copy").start()


def _copy(source, sink):
    with contextlib.suppress(OSError, EOFError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.close()
