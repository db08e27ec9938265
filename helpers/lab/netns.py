"""Open sockets inside a named network namespace without moving the whole process there.

    with netns.entered("vmiso-lab-1a2b"):
        sock = socket.create_connection(("10.213.0.5", 22))   # lives in that namespace for good

setns(2) switches only the calling thread, and a socket keeps the namespace it was created in, so
the runner can talk to the lab while the rest of it stays in the machine's own namespace.
"""

import contextlib
import ctypes
import os
import socket

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns(CLONE_NEWNET) failed: {os.strerror(err)} "
                           f"(vmiso must run as root)")


@contextlib.contextmanager
def entered(name):
    """Run the body with this thread inside network namespace `name` (from `ip netns add`)."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(f"/run/netns/{name}", os.O_RDONLY)
    except FileNotFoundError:
        os.close(home)
        raise OSError(f"network namespace {name} does not exist")
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(target)
        os.close(home)


def connect(name, address, timeout):
    """A TCP connection to `address` made from inside namespace `name`."""
    with entered(name):
        return socket.create_connection(address, timeout=timeout)


def bound_socket(name, family, kind, address):
    """A socket bound to `address` inside namespace `name`."""
    with entered(name):
        sock = socket.socket(family, kind)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        return sock
