"""Where guests run: a libvirt connection, the hypervisor's host (helpers/host/hypervisor.py)
and how the runner reaches the guests' network.

    target = Target.for_lab(lab)                                       # the local lab
    target = Target.for_uri("qemu:///system", "default", run_id)       # this machine's libvirt
    target = Target.for_uri("qemu+ssh://root@kvm1/system", "default", run_id)   # a remote host
    target.hypervisor.read_text("/etc/os-release")
"""

import functools
import warnings
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Optional
from urllib.parse import parse_qs, urlparse

import libvirt

from helpers.host import canaryagent, libvirtconn
from helpers.host.hostfolder import PASS_THROUGH, own_folder
from helpers.host.hypervisor import HypervisorError, LocalHypervisor, hypervisor_for
from helpers.hostconfig import confinement
from helpers.hostconfig import facts as host_facts
from helpers.hostconfig.libvirtdconf import daemon_pid
from helpers.lab import netns
from helpers.lab.lab import NETWORK, PREFIX, Lab
from helpers.vm import imagecache, runlease, runmark

REAL_HOST_WORKROOT = PurePosixPath("/var/tmp/vmiso/guests")  # guests' files on a --libvirt-uri host


class TargetError(Exception):
    """The hypervisor cannot be used; the message names the URI and the fix."""


@dataclass
class Target:
    uri: str
    conn: libvirt.virConnect
    network: str
    domain_prefix: str
    hypervisor: object  # LocalHypervisor or SshHypervisor
    lab: Optional[Lab] = None
    swept: tuple = ()  # guests and canary folders of dead earlier runs, removed at the start
    lease: Optional[runlease.RunLease] = None  # a real host's: the run is alive while renewed

    @property
    def run_id(self):
        return self.domain_prefix.removeprefix(PREFIX).rstrip("-")

    @classmethod
    def for_lab(cls, lab):
        return cls(lab.uri, _open(lab.uri), NETWORK, lab.domain_prefix, LocalHypervisor(), lab)

    @classmethod
    def for_uri(cls, uri, network, run_id):
        try:
            hypervisor = hypervisor_for(uri)
        except HypervisorError as err:
            raise TargetError(str(err)) from None
        try:
            conn = _open(uri)
            for folder in (REAL_HOST_WORKROOT.parent, REAL_HOST_WORKROOT):
                own_folder(hypervisor, folder, PASS_THROUGH)  # before any sweep enters them
            swept = _sweep(conn, hypervisor)
            lease = runlease.RunLease.take(hypervisor, run_id)
        except BaseException:
            hypervisor.close()
            raise
        return cls(uri, conn, network, f"{PREFIX}{run_id}-", hypervisor, swept=swept,
                   lease=lease)

    @property
    def is_local(self):
        """Whether the hypervisor is this machine (its processes and files can be read here)."""
        return self.hypervisor.is_local

    @functools.cached_property
    def images(self):
        """Where the hypervisor's QEMU reads this machine's images from (an ImageCache)."""
        return imagecache.ImageCache(self.hypervisor,
                                     confinement.qemu_group(self.conn, self.hypervisor))

    @property
    def workroot(self):
        """Where on the hypervisor the guests' overlays, seeds and logs go."""
        return self.lab.root / "guests" if self.lab is not None else REAL_HOST_WORKROOT

    def open_socket(self, address, port, timeout):
        """A connection to a guest: from the lab's uplink station, else from the hypervisor
        (a direct-tcpip channel when it is remote)."""
        if self.lab is not None:
            return netns.connect(self.lab.uplink_netns, (address, port), timeout)
        return self.hypervisor.open_socket(address, port, timeout)

    def open_host_socket(self, address, port, timeout):
        """A connection to a service of the hypervisor's host (a display), made on the host:
        from the lab's host side, or through the remote host's sshd."""
        if self.lab is not None:
            return netns.connect(self.lab.netns, (address, port), timeout)
        return self.hypervisor.open_socket(address, port, timeout)

    @property
    def socket_path(self):
        """The libvirt UNIX socket this run talks to, on the hypervisor's host."""
        if self.lab is not None:
            return str(self.lab.socket)
        query = parse_qs(urlparse(self.uri).query)
        return query.get("socket", ["/run/libvirt/libvirt-sock"])[0]

    @functools.cached_property
    def daemon_pid(self):
        """The pid of the libvirtd serving this run on the hypervisor's host (None when no
        process is seen listening on its socket)."""
        if self.lab is not None:
            return self.lab.libvirtd_pid
        return daemon_pid(self.hypervisor, self.socket_path)

    @property
    def libvirt_version(self):
        """The libvirt daemon's version, e.g. '9.0.0'."""
        return _dotted(self.conn.getLibVersion())

    def facts(self, accelerator):
        """The host as the report names it: hostname, URI, distribution, kernel, QEMU, libvirt,
        accelerator."""
        return {"name": self.conn.getHostname(), "uri": self.uri,
                "distribution": host_facts.distribution(self.hypervisor),
                "kernel": host_facts.kernel(self.hypervisor)[0],
                "qemu": _dotted(self.conn.getVersion()), "libvirt": self.libvirt_version,
                "accelerator": accelerator}

    def close(self):
        """Close the connections; first, where the run used the image cache, prune it to its
        limits (helpers/vm/imagecache.py). A prune that fails is a warning: the run's verdicts
        stand, and `make prune` can do it later."""
        try:
            if "images" in self.__dict__:  # the cached_property was read: the cache was used
                imagecache.prune(self.hypervisor)
        except (HypervisorError, OSError) as err:
            warnings.warn(f"vmiso: the image cache was not pruned: {err}; run `vmiso prune URI`",
                          stacklevel=2)
        finally:
            try:
                if self.lease is not None:
                    self.lease.release()
            finally:
                self.conn.close()
                self.hypervisor.close()


def _sweep(conn, hypervisor):
    """What dead runs left on the host, removed: their guests, guest folders, canary folders
    and lapsed leases (helpers/vm/runmark.py, runlease.py); what was removed."""
    live = runlease.held(hypervisor)
    swept = tuple(runmark.sweep(conn, PREFIX, live))
    for name in swept:
        hypervisor.remove_tree(REAL_HOST_WORKROOT / name)
    swept += tuple(runmark.sweep_folders(hypervisor, REAL_HOST_WORKROOT, PREFIX, live))
    swept += tuple(canaryagent.sweep(hypervisor))
    return swept + tuple(f"lease {run_id}" for run_id in runlease.sweep(hypervisor))


def _dotted(number):
    return f"{number // 1000000}.{number // 1000 % 1000}.{number % 1000}"


def _open(uri):
    """The run's connection, keepalive on (helpers/host/libvirtconn.py)."""
    libvirt.registerErrorHandler(lambda *_: None, None)
    try:
        return libvirtconn.open_connection(uri)
    except HypervisorError as err:
        raise TargetError(f"cannot connect to libvirt at {uri}: {err}; check that libvirtd "
                          f"runs there and answers") from None
    except libvirt.libvirtError as err:
        message = err.get_error_message()
        denied = any(w in message.lower() for w in ("permission denied", "authentication",
                                                     "not authorized", "access denied"))
        fix = ("run vmiso as a user libvirt admits there (root, or a member of the libvirt "
               "group) or give the URI credentials" if denied else
               "check the URI and that libvirtd runs there")
        raise TargetError(f"cannot connect to libvirt at {uri}: {message}; {fix}") from None
