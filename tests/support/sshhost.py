"""A remote hypervisor in the lab: an OpenSSH server inside a lab's network and mount namespaces,
listening on the namespace's loopback, so that `qemu+ssh://root@127.0.0.1/system` from a process
in that namespace reaches the lab's libvirtd the way a controller reaches a real host.

    with SshHost.start(lab, tmp_path) as remote:
        remote.uri                 # qemu+ssh://root@127.0.0.1/system?socket=...&keyfile=...
        remote.runner_prefix       # run a command as the controller: in the namespace, and
                                   # unable to reach the guest network but through the sshd

The controller is told apart from sshd by its group: a packet filter in the lab namespace rejects
every packet a process of RUNNER_GID sends to the guest network, so guests are reached only
through SSH channels that sshd (group root) opens.

The hypervisor opens those channels from a management address of its own, JUMP_ADDRESS: the lab's
host filter (vmiso-no-host-access) drops, statelessly, everything a guest sends to the host's
bridge address, so a guest's answers to that address would never arrive. A real host that jumps
to its guests needs the same: an address of its own that its guests may answer, used as the
source of its route to them, and a stateful rule that lets guests send it nothing but answers
(without it the guests reach every service of the host there, and vmiso's canaries say so).
"""

import contextlib
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from helpers.host.canaryagent import REMOTE_ROOT as CANARY_ROOT
from helpers.host.hypervisor import REMOTE_IMAGE_CACHE
from helpers.lab.lab import BRIDGE, HOST_ADDRESS, SUBNET
from helpers.vm import runlease
from helpers.vm.imagecache import entries
from helpers.vm.target import REAL_HOST_WORKROOT

SSHD = "/usr/sbin/sshd"
RUNNER_GID = 64213  # a group no account has: the controller's packets, and only them
START_TIMEOUT = 20
PRIVSEP_DIR = Path("/run/sshd")
JUMP_ADDRESS = str(SUBNET[3])  # outside the DHCP range and the host filter's drops


@dataclass(frozen=True)
class GuestNetwork:
    """A guest network of the host: its bridge, subnet, the host's address there, and the jump
    address the host reaches its guests from."""
    bridge: str
    subnet: str
    host_address: str
    jump: str


LAB_GUESTS = GuestNetwork(BRIDGE, str(SUBNET), HOST_ADDRESS, JUMP_ADDRESS)


@dataclass
class SshHost:
    lab: object
    home: Path
    process: subprocess.Popen
    address: str  # where sshd listens, in the lab's namespace

    @property
    def uri(self):
        """Host keys are pinned: libvirt's ssh reads them through the wrapper `ssh`, vmiso
        through `known_hosts`."""
        return (f"qemu+ssh://root@{self.address}/system?socket={self.lab.socket}"
                f"&keyfile={self.home / 'client_key'}&known_hosts={self.home / 'known_hosts'}"
                f"&command={self.home / 'ssh'}")

    @property
    def runner_prefix(self):
        """Run a command as the controller of a loopback host: in the lab's namespace, in a
        group whose packets to the guest network are rejected."""
        return ["ip", "netns", "exec", self.lab.netns, "setpriv", f"--regid={RUNNER_GID}",
                "--clear-groups", "--"]

    def run(self, *argv, timeout=60):
        """A command on the host over SSH, as the controller runs it: its CompletedProcess."""
        return subprocess.run([*self.runner_prefix, str(self.home / "ssh"), "-i",
                               str(self.home / "client_key"), f"root@{self.address}",
                               shlex.join(argv)], capture_output=True, text=True,
                              timeout=timeout)

    def log(self):
        return (self.home / "sshd.log").read_text(errors="replace")

    def rejected_packets(self):
        """Packets of the controller's group that the filter rejected on their way to the
        guest network."""
        out = subprocess.run(["ip", "netns", "exec", self.lab.netns, "iptables", "-w", "-L",
                              "OUTPUT", "-v", "-x", "-n"], capture_output=True, text=True,
                             check=True).stdout
        return sum(int(line.split()[0]) for line in out.splitlines()
                   if f"owner GID match {RUNNER_GID}" in line)

    @classmethod
    @contextlib.contextmanager
    def start(cls, lab, home, address="127.0.0.1", guests=None, overlays=None):
        """`guests`: the guest network the host jumps to (the lab's by default); `overlays`:
        {path on the host: file put over it}, seen by sshd and what it runs only (a host of
        another distribution: tests/support/distributions.py)."""
        guests = guests or LAB_GUESTS
        home = Path(home)
        home.mkdir(parents=True, exist_ok=True)
        _keys(home, address)
        made_privsep = not PRIVSEP_DIR.exists()
        host_files_before = _host_files()
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        # the lab's network namespace and libvirt folders over this machine's file system:
        # what sshd on the lab's host sees (`ip netns exec` would hide the cgroup hierarchy
        # under a fresh sysfs)
        steps = " && ".join(lab.bind_steps() + [
            f"mount --bind {shlex.quote(str(source))} {shlex.quote(str(path))}"
            for path, source in (overlays or {}).items()])
        process = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{lab.netns}", "--", "unshare", "--mount",
             "--propagation", "private", "--", "sh", "-c",
             f"{steps} && exec {SSHD} -D -e -f {shlex.quote(str(_config(home, address)))}"],
            stdout=subprocess.DEVNULL, stderr=open(home / "sshd.log", "wb"))
        rule = ["OUTPUT", "-d", guests.subnet, "-m", "owner", "--gid-owner", str(RUNNER_GID),
                "-j", "REJECT"]
        answers_only = ["INPUT", "-d", guests.jump, "-m", "conntrack", "!", "--ctstate",
                        "ESTABLISHED,RELATED", "-j", "DROP"]
        route = ["route", "replace", guests.subnet, "dev", guests.bridge, "proto", "kernel",
                 "scope", "link", "src"]
        try:
            _wait_listening(lab, process, home, address)
            iptables(lab, "-I", *rule)
            iptables(lab, "-I", *answers_only)
            _ip(lab.netns, "address", "add", f"{guests.jump}/32", "dev", guests.bridge)
            _ip(lab.netns, *route, guests.jump)
            yield cls(lab, home, process, address)
        finally:
            _ip(lab.netns, *route, guests.host_address, check=False)
            _ip(lab.netns, "address", "del", f"{guests.jump}/32", "dev", guests.bridge,
                check=False)
            iptables(lab, "-D", *rule, check=False)
            iptables(lab, "-D", *answers_only, check=False)
            process.terminate()
            process.wait(timeout=10)
            if made_privsep:
                PRIVSEP_DIR.rmdir()
            _remove_host_files_since(host_files_before)


def _host_files():
    """What of vmiso's folders on the host (this machine) exists: the run's image cache copies,
    its guest folders and its lease go there."""
    cache = Path(REMOTE_IMAGE_CACHE)
    folders = [cache.parent, cache, *(cache.iterdir() if cache.is_dir() else ()),
               Path(REAL_HOST_WORKROOT), Path(CANARY_ROOT), Path(runlease.ROOT)]
    return {p for p in folders if p.exists()} | entries(cache)


def _remove_host_files_since(before):
    """The remote host here is this machine: the base images the run copied to it (a cache a
    real host keeps) and the folders it made go again, deepest first."""
    for entry in entries(REMOTE_IMAGE_CACHE) - before:
        shutil.rmtree(entry, ignore_errors=True)
    for folder in sorted(_host_files() - before, key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):  # not empty: another host of the run uses it
            folder.rmdir()


def _keys(home, address):
    for name in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"vmiso-{name}",
                        "-f", str(home / name)], check=True)
    host_public = (home / "host_key.pub").read_text().split()[:2]
    (home / "known_hosts").write_text(f"{address} {' '.join(host_public)}\n")
    (home / "authorized_keys").write_text((home / "client_key.pub").read_text())
    wrapper = home / "ssh"
    wrapper.write_text("#!/bin/sh\nexec ssh -o StrictHostKeyChecking=yes "
                       f"-o UserKnownHostsFile={shlex.quote(str(home / 'known_hosts'))} "
                       "-o GlobalKnownHostsFile=/dev/null -F /dev/null \"$@\"\n")
    wrapper.chmod(0o755)


def _config(home, address):
    path = home / "sshd_config"
    path.write_text("\n".join([
        f"ListenAddress {address}", "Port 22", f"HostKey {home / 'host_key'}",
        f"PidFile {home / 'sshd.pid'}", f"AuthorizedKeysFile {home / 'authorized_keys'}",
        "PermitRootLogin prohibit-password", "PasswordAuthentication no",
        "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no",
        "AllowTcpForwarding local", "X11Forwarding no", "LogLevel DEBUG1",
        "Subsystem sftp internal-sftp", ""]))
    return path


def _wait_listening(lab, process, home, address):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited: {(home / 'sshd.log').read_text()[-500:]}")
        out = subprocess.run(["ip", "netns", "exec", lab.netns, "ss", "-Htln", "sport = :22"],
                             capture_output=True, text=True).stdout
        if f"{address}:22" in out:
            return
        time.sleep(0.1)
    raise RuntimeError(f"sshd did not listen on {address}:22 in {lab.netns}")


def _ip(netns, *args, check=True):
    subprocess.run(["ip", "-n", netns, *args], check=check, capture_output=True)


def iptables(lab, *args, check=True):
    """iptables in the lab's network namespace (the host's sshd listens there)."""
    subprocess.run(["ip", "netns", "exec", lab.netns, "iptables", "-w", *args], check=check,
                   capture_output=True)



@contextlib.contextmanager
def controller(labs):
    """A namespace for a controller of several hosts, linked to each lab: the controller holds
    10.215.<n>.1, lab n 10.215.<n>.2 (where its sshd may listen). It has no route to any guest
    network: guests are reached through the hosts' sshd or not at all.

        with controller([lab1, lab2]) as (prefix, addresses):
            subprocess.run([*prefix, "ip", "route"])
    """
    name = f"{labs[0].netns}-ct"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        _ip(name, "link", "set", "lo", "up")
        addresses = []
        for number, lab in enumerate(labs, 1):
            near, far = f"10.215.{number}.1", f"10.215.{number}.2"
            _ip(lab.netns, "link", "add", "vmisoct0", "type", "veth", "peer", "name",
                f"lab{number}", "netns", name)
            _ip(lab.netns, "address", "add", f"{far}/30", "dev", "vmisoct0")
            _ip(lab.netns, "link", "set", "vmisoct0", "up")
            _ip(name, "address", "add", f"{near}/30", "dev", f"lab{number}")
            _ip(name, "link", "set", f"lab{number}", "up")
            addresses.append(far)
        yield ["ip", "netns", "exec", name], addresses
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)
