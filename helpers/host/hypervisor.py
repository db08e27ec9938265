"""The machine libvirt runs the guests on: its files and commands, and the way to its guests.

    hv = hypervisor_for("qemu:///system")                     # this machine
    hv = hypervisor_for("qemu+ssh://root@kvm1/system")        # a remote host, over SSH
    hv.host.run("uname -r")          # a testinfra Host: the local backend, or SSH
    hv.read_text("/proc/1/status")   # this machine's file system, or SFTP
    hv.write_bytes(path, data)
    hv.spawn(path, arg)              # a long-running command spoken to by lines
    hv.open_socket(address, 22, 5)   # a connection to a guest: a direct-tcpip channel through
                                     # the host's SSH when remote, so the guest network need not
                                     # be routable from here

Every command ends within COMMAND_TIMEOUT, and every SFTP request is answered within it
(helpers/host/sshchannels.py); past it, HypervisorError names the command or the file.

A remote host is reached the way libvirt's ssh transport reaches it: the URI's user, host and
port, its `keyfile` (else the agent and the default keys), and its host key checked against the
URI's `known_hosts` (else ~/.ssh/known_hosts); `no_verify=1` accepts any host key, as libvirt
does.
"""

import contextlib
import functools
import getpass
import os
import shlex
import shutil
import socket
import threading
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, urlparse

import paramiko
import testinfra.host
from testinfra.backend.local import LocalBackend
from testinfra.backend.paramiko import ParamikoBackend

from helpers.host import sshchannels
from helpers.host.errors import HypervisorError
from helpers.host.spawned import LocalProcess, SshProcess
from helpers.local import command, diskspace, waits
from helpers.local.digest import sha256

SSH_TIMEOUT = 15
COMMAND_TIMEOUT = 120  # qemu-img, df, dpkg-query, one SFTP request: seconds at most
# Waiting for another thread's SFTP requests (a guest booting beside this one): each of them is
# answered within COMMAND_TIMEOUT, and a copy has an SFTP session of its own (put)
SFTP_QUEUE_S = 600
# Where the files QEMU reads are copied (helpers/vm/imagecache.py): /var/cache here, where
# only root makes folders; /var/tmp on a remote host, which any user of the URI can write to.
LOCAL_IMAGE_CACHE = PurePosixPath("/var/cache/vmiso/images")
REMOTE_IMAGE_CACHE = PurePosixPath("/var/tmp/vmiso/images")


def hypervisor_for(uri):
    """The Hypervisor a libvirt URI runs guests on: local for qemu:/// and qemu+unix://,
    over SSH for qemu+ssh://."""
    parsed = urlparse(uri)
    transport = parsed.scheme.partition("+")[2]
    if transport in ("", "unix") and not parsed.hostname:
        return LocalHypervisor()
    if transport == "ssh":
        return SshHypervisor.connect(parsed)
    how = f"transport {transport}" if transport else "a host name without a transport"
    raise HypervisorError(f"vmiso reaches a remote hypervisor through SSH, not {how} ({uri}): "
                          f"use qemu+ssh://user@host/system")


class LocalHypervisor:
    """This machine."""

    is_local = True
    image_cache = LOCAL_IMAGE_CACHE

    def __init__(self):
        self.host = testinfra.host.Host(_LocalBackend())
        self.uid = os.getuid()

    def read_bytes(self, path):
        return Path(path).read_bytes()

    def read_text(self, path):
        return Path(path).read_text()

    def listdir(self, path):
        return sorted(os.listdir(path))

    def readlink(self, path):
        return os.readlink(path)

    def mode(self, path):
        """st_mode, or None when there is no such file."""
        try:
            return os.stat(path).st_mode
        except FileNotFoundError:
            return None

    def lstat(self, path):
        """The path's own status (a link is not followed), or None when there is none."""
        try:
            return os.lstat(path)
        except FileNotFoundError:
            return None

    def write_bytes(self, path, data, mode=0o644):
        Path(path).write_bytes(data)
        os.chmod(path, mode)

    def make_sparse(self, path, size):
        with open(path, "wb") as f:
            f.truncate(size)

    def make_dir(self, path, mode=0o755):
        Path(path).mkdir(parents=True, mode=mode)

    def remove_tree(self, path):
        shutil.rmtree(path, ignore_errors=True)

    def free_mib(self, path):
        return diskspace.free_mib(path)

    def put(self, local_path, path):
        """Copy a file of this machine to `path` on the hypervisor."""
        shutil.copyfile(local_path, path)

    def digest(self, path):
        """The SHA-256 of a file on the hypervisor."""
        return sha256(path)

    def open_socket(self, address, port, timeout):
        return socket.create_connection((address, port), timeout=timeout)

    def spawn(self, *argv):
        """A long-running command, spoken to by lines (helpers/host/spawned.py)."""
        return LocalProcess(argv)

    def run(self, *argv):
        """Run a command; its stdout (raises HypervisorError when it fails)."""
        return command.run(*argv, error=HypervisorError, purpose="this machine",
                           timeout=COMMAND_TIMEOUT).stdout

    def close(self):
        pass


class _LocalBackend(LocalBackend):
    """testinfra's local backend, each command ended after COMMAND_TIMEOUT (HypervisorError)."""

    def run_local(self, cmd, *args):
        cmd = self.quote(cmd, *args)
        done = command.run("sh", "-c", cmd, error=HypervisorError, purpose="this machine",
                           check=False, timeout=COMMAND_TIMEOUT, own_group=True)
        return self.result(done.returncode, self.encode(cmd), done.stdout, done.stderr)


class _Backend(ParamikoBackend):
    """testinfra's paramiko backend on the SSH client the hypervisor already holds."""

    NAME = "vmiso-hypervisor"

    def __init__(self, client, name):
        super().__init__(name, timeout=COMMAND_TIMEOUT)
        self._client = client
        self.name = name

    @property
    def client(self):
        return self._client

    def _exec_command(self, cmd):
        """Every wait of the command bounded by COMMAND_TIMEOUT (testinfra's has none)."""
        return sshchannels.run(self._client.get_transport(), cmd, self.timeout, HypervisorError,
                               self.name)


class SshHypervisor:
    """A remote host over one SSH connection: commands, SFTP and channels to its guests."""

    is_local = False
    image_cache = REMOTE_IMAGE_CACHE

    def __init__(self, client, name):
        self.client = client
        self.name = name
        self.host = testinfra.host.Host(_Backend(client, name))
        self._sftp = self._open_sftp()
        self._sftp_lock = threading.Lock()  # one SFTP request at a time: guests boot in threads

    @classmethod
    def connect(cls, parsed):
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        user = parsed.username or getpass.getuser()
        port = parsed.port or 22
        name = f"{user}@{parsed.hostname}" + (f":{port}" if port != 22 else "")
        client = paramiko.SSHClient()
        if query.get("no_verify") == "1":
            client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        else:
            _load_known_hosts(client, query.get("known_hosts"))
            client.set_missing_host_key_policy(paramiko.RejectPolicy())
        keyfile = query.get("keyfile")
        try:
            client.connect(parsed.hostname, port, user, key_filename=keyfile,
                           look_for_keys=keyfile is None, timeout=SSH_TIMEOUT,
                           banner_timeout=SSH_TIMEOUT, auth_timeout=SSH_TIMEOUT)
        except (OSError, paramiko.SSHException) as err:
            client.close()
            raise HypervisorError(
                f"cannot open SSH to the hypervisor {name}: {str(err) or type(err).__name__}; "
                f"check that sshd runs there, that its host key is in known_hosts and that the "
                f"key (URI keyfile=, the agent or ~/.ssh) is authorized") from None
        try:
            return cls(client, name)
        except BaseException:
            client.close()
            raise

    def _open_sftp(self):
        return sshchannels.open_sftp(self.client.get_transport(), COMMAND_TIMEOUT,
                                     HypervisorError, self.name)

    def _sftp_call(self, what, path, call, *args):
        """An SFTP call on the shared session, one thread at a time."""
        with self._sftp_errors(what, path), \
                waits.acquired(self._sftp_lock, SFTP_QUEUE_S, f"SFTP to {self.name}",
                               HypervisorError):
            return call(str(path), *args)

    @contextlib.contextmanager
    def _sftp_errors(self, what, path):
        """OSError as the file system gave it (absent, denied) naming the file; HypervisorError
        when the SSH session failed, or SFTP gave no answer within COMMAND_TIMEOUT."""
        try:
            yield
        except paramiko.SSHException as err:
            raise HypervisorError(f"{what} {path} on {self.name} failed: {err}") from None
        except TimeoutError:
            raise HypervisorError(f"{what} {path} on {self.name}: SFTP gave no answer within "
                                  f"{COMMAND_TIMEOUT} s") from None
        except OSError as err:
            if err.filename or err.errno is None:
                raise
            # SFTP's errors name no file: say which, as a local one would
            raise type(err)(err.errno, f"{err.strerror or os.strerror(err.errno)} on "
                                       f"{self.name}", str(path)) from None

    def read_bytes(self, path):
        def read(name):
            with self._sftp.open(name, "rb") as f:
                return f.read()
        return self._sftp_call("reading", path, read)

    def read_text(self, path):
        return self.read_bytes(path).decode(errors="replace")

    def listdir(self, path):
        return sorted(self._sftp_call("listing", path, self._sftp.listdir))

    def readlink(self, path):
        return self._sftp_call("reading the link", path, self._sftp.readlink)

    def mode(self, path):
        try:
            return self._sftp_call("stat of", path, self._sftp.stat).st_mode
        except FileNotFoundError:
            return None

    def lstat(self, path):
        try:
            return self._sftp_call("lstat of", path, self._sftp.lstat)
        except FileNotFoundError:
            return None

    def write_bytes(self, path, data, mode=0o644):
        def write(name):
            with self._sftp.open(name, "wb") as f:
                f.write(data)
            self._sftp.chmod(name, mode)
        self._sftp_call("writing", path, write)

    def make_sparse(self, path, size):
        self.run("truncate", "-s", str(size), str(path))

    def make_dir(self, path, mode=0o755):
        self.run("mkdir", "-p", "-m", f"{mode:o}", str(path))

    def remove_tree(self, path):
        self.run("rm", "-rf", "--", str(path))

    def free_mib(self, path):
        path = PurePosixPath(path)
        probe = " ".join(shlex.quote(str(p)) for p in (path, *path.parents))
        out = self.host.run(f"for p in {probe}; do [ -e \"$p\" ] && exec df -Pk \"$p\"; done")
        if out.rc != 0:
            raise HypervisorError(f"df on {self.name} failed: {out.stderr.strip()[-200:]}")
        return int(out.stdout.splitlines()[-1].split()[3]) // 1024

    @functools.cached_property
    def uid(self):
        """The user id this connection acts as on the host."""
        return int(self.run("id", "-u"))

    def put(self, local_path, path):
        """A copy over an SFTP session of its own, so that a large one never holds up the other
        threads' requests."""
        with self._sftp_errors("copying to", path), self._open_sftp() as sftp:
            sftp.put(str(local_path), str(path))

    def digest(self, path):
        return self.run("sha256sum", "--", str(path)).split()[0]

    def open_socket(self, address, port, timeout):
        """A direct-tcpip channel through the host's sshd: the guest is reached from the
        hypervisor, not from here."""
        transport = self.client.get_transport()
        if transport is None or not transport.is_active():
            raise OSError(f"the SSH connection to {self.name} is closed")
        channel = transport.open_channel("direct-tcpip", (address, port), ("127.0.0.1", 0),
                                         timeout=timeout)
        channel.settimeout(timeout)  # as create_connection's socket: each read and write bounded
        return channel

    def spawn(self, *argv):
        return SshProcess(self.client, shlex.join(argv), self.name)

    def run(self, *argv):
        out = self.host.run(shlex.join(argv))
        if out.rc != 0:
            raise HypervisorError(f"`{shlex.join(argv)}` failed on {self.name}: "
                                  f"{out.stderr.strip()[-300:]}")
        return out.stdout

    def close(self):
        self._sftp.close()
        self.client.close()


def _load_known_hosts(client, path):
    try:
        if path:
            client.load_host_keys(path)
        else:
            client.load_system_host_keys()
    except OSError as err:
        raise HypervisorError(f"cannot read known_hosts {path}: {err}; name a readable file "
                              f"in the URI (known_hosts=PATH)") from None
