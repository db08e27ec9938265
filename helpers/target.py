"""Where guests run: a libvirt connection plus how the runner reaches the guests' network.

    target = Target.for_lab(lab)                       # the local lab
    target = Target.for_uri("qemu:///system", "default")   # a real host
"""

import os
import socket
from dataclasses import dataclass
from typing import Callable, Optional
from urllib.parse import parse_qs, urlparse

import libvirt

from helpers import netns, runmark
from helpers.lab import NETWORK, PREFIX, Lab


class TargetError(Exception):
    """The hypervisor cannot be used; the message names the URI and the fix."""


@dataclass
class Target:
    uri: str
    conn: libvirt.virConnect
    network: str
    domain_prefix: str
    open_socket: Callable
    lab: Optional[Lab] = None
    swept: tuple = ()  # guests of dead earlier runs destroyed when the target was opened

    @property
    def run_id(self):
        return self.domain_prefix.removeprefix(PREFIX).rstrip("-")

    @classmethod
    def for_lab(cls, lab):
        def open_socket(address, port, timeout):
            return netns.connect(lab.uplink_netns, (address, port), timeout)
        return cls(lab.uri, _open(lab.uri), NETWORK, lab.domain_prefix, open_socket, lab)

    @classmethod
    def for_uri(cls, uri, network, run_id):
        def open_socket(address, port, timeout):
            return socket.create_connection((address, port), timeout=timeout)
        conn = _open(uri)
        return cls(uri, conn, network, f"{PREFIX}{run_id}-", open_socket,
                   swept=tuple(runmark.sweep(conn, PREFIX)))

    @property
    def is_local(self):
        """Whether the hypervisor is this machine (its processes and files can be read here)."""
        return self.lab is not None or self.uri.startswith("qemu:///")

    @property
    def socket_path(self):
        """The libvirt UNIX socket this run talks to (local hosts)."""
        if self.lab is not None:
            return str(self.lab.socket)
        query = parse_qs(urlparse(self.uri).query)
        return query.get("socket", ["/run/libvirt/libvirt-sock"])[0]

    @property
    def libvirt_version(self):
        """The libvirt daemon's version, e.g. '9.0.0'."""
        return _dotted(self.conn.getLibVersion())

    def facts(self, accelerator):
        """The host as the report names it: hostname, URI, kernel, QEMU, libvirt, accelerator."""
        return {"name": self.conn.getHostname(), "uri": self.uri,
                "kernel": os.uname().release if self.is_local else None,
                "qemu": _dotted(self.conn.getVersion()), "libvirt": self.libvirt_version,
                "accelerator": accelerator}

    def close(self):
        self.conn.close()


def _dotted(number):
    return f"{number // 1000000}.{number // 1000 % 1000}.{number % 1000}"


def _open(uri):
    libvirt.registerErrorHandler(lambda *_: None, None)
    try:
        return libvirt.open(uri)
    except libvirt.libvirtError as err:
        message = err.get_error_message()
        denied = any(w in message.lower() for w in ("permission denied", "authentication",
                                                     "not authorized", "access denied"))
        fix = ("run vmiso as a user libvirt admits there (root, or a member of the libvirt "
               "group) or give the URI credentials" if denied else
               "check the URI and that libvirtd runs there")
        raise TargetError(f"cannot connect to libvirt at {uri}: {message}; {fix}") from None
