"""SSH into a throwaway guest: an ephemeral client key, a pinned host key, commands with timeouts.

    keys = GuestKeys.generate(workdir)              # client key + dropbear host key for one guest
    host = connect(address, keys, open_socket)      # a testinfra Host over paramiko
    host.run("uname -r").stdout

The guest's host key is made on the host before boot and handed to the guest in its seed, so the
client knows it in advance and rejects any other (no trust on first use).
"""

import base64
import io
import secrets
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import paramiko
import testinfra.host
from testinfra.backend.paramiko import ParamikoBackend

from helpers.host import sshchannels
from helpers.local import command as local_command

COMMAND_TIMEOUT = 30  # seconds; every probe command finishes in a few
KEYS_TIMEOUT = 60  # seconds for dropbearkey; it takes milliseconds once the kernel's RNG is ready
RANDOM_SEED_BYTES = 32


class GuestUnreachable(Exception):
    """SSH to the guest could not be established or broke down."""


@dataclass
class GuestKeys:
    client: paramiko.PKey
    host_private: bytes  # dropbear format, for the probe guest's seed
    host_public: paramiko.PKey
    host_private_openssh: Optional[str]  # the same key in OpenSSH format, for a cloud-init seed

    @classmethod
    def generate(cls, workdir, openssh=False):
        """Keys for one guest; `openssh` also gives the host key in OpenSSH format (for a
        cloud-init seed)."""
        path = Path(workdir) / "host_key"
        _keytool("dropbearkey", "-t", "ed25519", "-f", path)
        public = _keytool("dropbearkey", "-y", "-f", path)
        line = next(k for k in public.splitlines() if k.startswith("ssh-ed25519 "))
        host_public = paramiko.Ed25519Key(data=base64.b64decode(line.split()[1]))
        private = path.read_bytes()
        converted = _keytool("dropbearconvert", "dropbear", "openssh", path, "-") \
            if openssh else None
        path.unlink()
        return cls(paramiko.ECDSAKey.generate(), private, host_public, converted)

    @property
    def host_public_line(self):
        return f"{self.host_public.get_name()} {self.host_public.get_base64()}"

    @property
    def authorized_key(self):
        return f"{self.client.get_name()} {self.client.get_base64()} vmiso-ephemeral\n"

    def seed_archive(self):
        """The tar archive the probe guest's /init unpacks at boot: the keys, and a random seed
        from the host's CSPRNG that /init credits to the guest's RNG (without it, sshd waits
        seconds for the guest's crng under emulation)."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            _add(tar, "root/.ssh", None, 0o700)
            _add(tar, "root/.ssh/authorized_keys", self.authorized_key.encode(), 0o600)
            _add(tar, "etc/dropbear/host_key", self.host_private, 0o600)
            _add(tar, "run/random-seed", secrets.token_bytes(RANDOM_SEED_BYTES), 0o600)
        return buf.getvalue()


def _keytool(*argv):
    """What dropbear's key tool printed (GuestUnreachable when it is missing, failed or hung)."""
    return local_command.run(*argv, error=GuestUnreachable, purpose="making guest host keys",
                             timeout=KEYS_TIMEOUT).stdout


def _add(tar, name, data, mode):
    info = tarfile.TarInfo(name)
    info.mode = mode
    info.mtime = int(time.time())
    if data is None:
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    else:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


class GuestBackend(ParamikoBackend):
    """testinfra's paramiko backend on a socket we open, with a host key we pinned."""

    NAME = "vmiso"

    def __init__(self, address, keys, open_socket, timeout=COMMAND_TIMEOUT, user="root",
                 connect_timeout=None):
        # a user other than root runs every command through sudo (a cloud image's login user)
        super().__init__(f"{user}@{address}", timeout=timeout, sudo=user != "root")
        self.address = address
        self.user = user
        self.connect_timeout = connect_timeout or timeout
        self.keys = keys
        self.open_socket = open_socket

    @property
    def client(self):
        if getattr(self, "_client", None) is None:
            self._client = self._connect()
        return self._client

    @client.deleter
    def client(self):
        self._client = None

    def _connect(self):
        client = paramiko.SSHClient()
        client.get_host_keys().add(self.address, self.keys.host_public.get_name(),
                                   self.keys.host_public)
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            sock = self.open_socket(self.address, 22, self.connect_timeout)
            sock.settimeout(self.timeout)
            client.connect(self.address, username=self.user, pkey=self.keys.client, sock=sock,
                           timeout=self.timeout, banner_timeout=self.timeout,
                           auth_timeout=self.timeout, allow_agent=False, look_for_keys=False)
        except (OSError, paramiko.SSHException) as err:
            client.close()
            raise GuestUnreachable(f"ssh {self.user}@{self.address}: {err}") from None
        return client

    def _exec_command(self, command):
        """Every wait of the command bounded by `timeout` (helpers/host/sshchannels.py)."""
        return sshchannels.run(self.client.get_transport(), command, self.timeout,
                               GuestUnreachable, self.address)

    def close(self):
        if getattr(self, "_client", None) is not None:
            self._client.close()
            self._client = None


def connect(address, keys, open_socket, timeout=COMMAND_TIMEOUT, user="root",
            connect_timeout=None):
    """A testinfra Host for the guest, connected now (raises GuestUnreachable).

    `connect_timeout` bounds the TCP handshake alone: a booting guest's first SYN may be dropped
    (its traffic filter holds until libvirt has seen the lease), and a fresh SYN beats the
    kernel's one-second retransmission."""
    backend = GuestBackend(address, keys, open_socket, timeout, user, connect_timeout)
    backend.client  # connect eagerly so callers can retry until sshd is up
    return testinfra.host.Host(backend)


def upload(host, local, remote, mode):
    """Copy a file into the guest over SFTP (relative paths land in the login user's home);
    its absolute path there."""
    backend = host.backend
    try:
        with sshchannels.open_sftp(backend.client.get_transport(), backend.timeout,
                                   GuestUnreachable, backend.address) as sftp:
            sftp.put(str(local), remote)
            sftp.chmod(remote, mode)
            return sftp.normalize(remote)
    except (OSError, paramiko.SSHException) as err:
        why = str(err) or f"no answer within {backend.timeout}s"  # a timeout says nothing
        raise GuestUnreachable(f"copying {local} into the guest over SFTP failed: {why}") from None
