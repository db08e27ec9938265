"""The local lab: a network namespace of the run's own, with its own virtlogd, libvirtd and network.

    lab = Lab.start(Path("/run/vmiso"), Path(".cache/libvirt"))
    conn = libvirt.open(lab.uri)
    ...
    lab.stop()

Inside namespace vmiso-<id> a private mount namespace puts lab copies over /etc/libvirt,
/run/libvirt, /var/lib/libvirt, /var/log and /var/cache/libvirt, so the machine's own
libvirt configuration is never read or written. The libvirt network `vmiso-lab` has no <forward>
(isolated: nothing is routed out of the namespace). A second namespace, vmiso-<id>-up, is the lab's
uplink station on the same bridge: the allowed neighbour a guest may reach (the positive twin of
every network probe) and the place the runner opens its SSH connections from. A third,
vmiso-<id>-mg, is a management network behind the host side, which guests must never reach.
"""

import fcntl
import ipaddress
import json
import os
import secrets
import shlex
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from helpers.host.errors import HypervisorError
from helpers.host.hostfolder import PASS_THROUGH, own_folder
from helpers.host.hypervisor import LocalHypervisor
from helpers.hostconfig import netfilter, procnet
from helpers.hostconfig.hostfilter import METADATA_ADDRESS
from helpers.lab import cgroups, labconfig
from helpers.local import command, diskspace

PREFIX = "vmiso-"
NETWORK = "vmiso-lab"
BRIDGE = "vmisobr0"
SUBNET = ipaddress.ip_network("10.213.0.0/24")
HOST_ADDRESS = "10.213.0.1"
UPLINK_ADDRESS = "10.213.0.2"
# The management network, a third namespace behind the lab's host side: guests must not reach it.
MGMT_SUBNET = ipaddress.ip_network("10.214.0.0/24")
MGMT_HOST_ADDRESS = "10.214.0.1"
MGMT_ADDRESS = "10.214.0.2"
MGMT_LINK = "vmisomg0"
EMULATOR = Path("/usr/bin/qemu-system-x86_64")
DAEMONS = ("virtlogd", "libvirtd")
# adopts the daemons and every QEMU they start, and reaps each at once
REAPER = Path(__file__).resolve().parent / "reaper.py"
START_TIMEOUT = 30
OWNER = "owner"  # in a lab's folder: locked by the run that holds the lab
OWNER_GRACE_S = 60  # a lab folder without its owner file this young is being made


class LabError(Exception):
    """The lab could not be built or used; the message names the problem and the fix."""


def sh(*cmd, check=True):
    return command.run(*cmd, error=LabError, purpose="the local lab", check=check, timeout=60)


@dataclass
class Lab:
    """A running lab; `uri` is what libvirt clients connect to."""

    run_id: str
    root: Path
    profile: str = "hardened"
    owner: object = None  # the open owner file, locked for as long as the run holds the lab

    @property
    def netns(self):
        return f"{PREFIX}{self.run_id}"

    @property
    def uplink_netns(self):
        return f"{PREFIX}{self.run_id}-up"

    @property
    def mgmt_netns(self):
        return f"{PREFIX}{self.run_id}-mg"

    @property
    def namespaces(self):
        return namespaces_of(self.run_id)

    @property
    def libvirtd_pid(self):
        return int((self.root / "libvirtd.pid").read_text())

    @property
    def libvirtd_conf(self):
        return self.root / "etc/libvirt/libvirtd.conf"

    @property
    def judged_libvirtd_conf(self):
        """The libvirtd.conf whose settings the checks judge: with the system profile, this
        machine's own (the lab's differs where the lab must own a setting)."""
        system = self.root / "etc/libvirt/libvirtd.conf.system"
        return system if self.profile == "system" else self.libvirtd_conf

    @property
    def socket(self):
        return self.root / "sock" / "libvirt-sock"

    @property
    def uri(self):
        return f"qemu:///system?socket={self.socket}"

    @property
    def domain_prefix(self):
        return f"{PREFIX}{self.run_id}-"

    @property
    def host_addresses(self):
        """Every address the lab's host side holds on a non-loopback interface."""
        out = sh("ip", "-n", self.netns, "-j", "address", "show").stdout
        return [a["local"] for link in json.loads(out) if link["ifname"] != "lo"
                for a in link.get("addr_info", [])]

    def tcp_listeners(self):
        """TCP sockets listening on the host side (0.0.0.0: on every host address)."""
        return procnet.tcp_listeners(self.libvirtd_pid)

    @classmethod
    def start(cls, state_dir, cache_dir, profile="hardened"):
        require_usable_kvm_node()
        try:
            own_folder(LocalHypervisor(), Path(state_dir), PASS_THROUGH)  # before a sweep enters
        except HypervisorError as err:
            raise LabError(str(err)) from None
        try:
            diskspace.require(state_dir, "the lab's state and guest overlays")
        except diskspace.DiskSpaceError as err:
            raise LabError(str(err)) from None
        sweep(state_dir)
        run_id = secrets.token_hex(3)
        lab = cls(run_id=run_id, root=Path(state_dir) / run_id, profile=profile)
        lab.root.mkdir(parents=True)
        lab.owner = _hold(lab.root / OWNER)
        try:
            lab._create_namespaces()
            lab._attach_mgmt()
            try:
                labconfig.write(lab.root, Path(cache_dir), profile)
            except FileNotFoundError as err:
                raise LabError(str(err)) from None
            lab._start_daemons()
            lab._define_network()
            lab._attach_uplink()
        except BaseException:
            lab.stop()
            raise
        return lab

    def _create_namespaces(self):
        for ns in self.namespaces:
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            # No IPv6 in the lab: every host address a guest could try is one the probes cover.
            sh("ip", "netns", "exec", ns, "sysctl", "-q", "-w",
               "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")

    def _attach_mgmt(self):
        sh("ip", "-n", self.netns, "link", "add", MGMT_LINK, "type", "veth",
           "peer", "name", "eth0", "netns", self.mgmt_netns)
        sh("ip", "-n", self.netns, "address", "add",
           f"{MGMT_HOST_ADDRESS}/{MGMT_SUBNET.prefixlen}", "dev", MGMT_LINK)
        sh("ip", "-n", self.netns, "link", "set", MGMT_LINK, "up")
        sh("ip", "-n", self.mgmt_netns, "address", "add",
           f"{MGMT_ADDRESS}/{MGMT_SUBNET.prefixlen}", "dev", "eth0")
        sh("ip", "-n", self.mgmt_netns, "link", "set", "eth0", "up")
        sh("ip", "-n", self.mgmt_netns, "route", "add", str(SUBNET), "via", MGMT_HOST_ADDRESS)

    def bind_steps(self):
        """Shell steps that, in a private mount namespace, put the lab's copies over the
        machine's libvirt folders (what the lab's daemons see)."""
        q = shlex.quote
        return [f"mkdir -p {q(dest)} && mount --bind {q(str(self.root / src))} {q(dest)}"
                for src, dest in labconfig.BIND_MOUNTS]

    def _start_daemons(self):
        """The daemons start in the lab's mount namespace, and in a cgroup namespace rooted at
        the lab's own cgroups (helpers/lab/cgroups.py)."""
        q = shlex.quote
        made = cgroups.create(self.root, self.run_id)
        steps = self.bind_steps() + cgroups.join_steps(made)
        if labconfig.REPLACED_EMULATOR[self.profile]:
            steps.append(self._replaced_emulator())
        flags = " ".join(labconfig.DAEMON_FLAGS[self.profile])
        nice = labconfig.DAEMON_NICE[self.profile]
        starts = cgroups.mount_steps(made) + [
            (f"nice -n {nice[d]} " if d in nice else "")
            + f"{d} -d --pid-file {q(str(self.root / (d + '.pid')))}"
            + (f" {flags}" if d == "libvirtd" and flags else "") for d in DAEMONS]
        sh("ip", "netns", "exec", self.netns, "unshare", "--mount", "--propagation", "private",
           "sh", "-c", " && ".join(steps) + f" && exec unshare --cgroup {q(sys.executable)} -I "
           f"{q(str(REAPER))} sh -c " + q(" && ".join(starts)))
        deadline = time.monotonic() + START_TIMEOUT
        while not self.socket.exists():
            if time.monotonic() > deadline:
                raise LabError(f"the lab's libvirtd did not open {self.socket} within "
                               f"{START_TIMEOUT}s; see {self.root / 'log/libvirt/libvirtd.log'}")
            time.sleep(0.1)

    def _refused(self, said):
        """Why the lab's libvirtd refused its first connection, from its log: a setting it
        cannot apply ends its driver's start (e.g. security_driver = "apparmor" on a kernel
        without AppArmor)."""
        log = self.root / "log/libvirt/libvirtd.log"
        cause = driver_failure(log.read_text(errors="replace") if log.exists() else "")
        where = ("this machine's /etc/libvirt (host profile system)" if self.profile == "system"
                 else f"the lab's {self.profile} host profile")
        if cause is None:
            return f"the lab's libvirtd refused its first connection ({said}); see {log}"
        return (f"the lab's libvirtd could not start: {cause}; fix that setting in {where} "
                f"(qemu.conf, libvirtd.conf), or see {log}")

    def _replaced_emulator(self):
        """Shell steps that put a copy of QEMU over the real one inside the lab's mount namespace
        and delete the copy: every guest then runs a binary that no longer exists on disk, as
        after a package upgrade under running guests."""
        copy = shlex.quote(str(self.root / "qemu-system-x86_64.old"))
        emulator = shlex.quote(str(EMULATOR))
        return f"cp {emulator} {copy} && mount --bind {copy} {emulator} && rm {copy}"

    def _define_network(self):
        import libvirt

        from helpers.host import libvirtconn
        try:
            conn = libvirtconn.open_connection(self.uri)
        except libvirt.libvirtError as err:
            raise LabError(self._refused(err.get_error_message())) from None
        except HypervisorError as err:
            raise LabError(f"{err}; see {self.root / 'log/libvirt/libvirtd.log'}") from None
        route_to = MGMT_LINK if labconfig.ROUTED[self.profile] else None
        try:
            netfilter.define_no_host_access(conn, [HOST_ADDRESS, MGMT_HOST_ADDRESS,
                                                   METADATA_ADDRESS])
            conn.networkCreateXML(labconfig.network_xml(NETWORK, BRIDGE, HOST_ADDRESS, SUBNET,
                                                        route_to))
        finally:
            conn.close()
        sh("ip", "-n", self.netns, "address", "add", f"{METADATA_ADDRESS}/32", "dev", BRIDGE)

    def _attach_uplink(self):
        sh("ip", "-n", self.netns, "link", "add", "vmisoup0", "type", "veth",
           "peer", "name", "eth0", "netns", self.uplink_netns)
        sh("ip", "-n", self.netns, "link", "set", "vmisoup0", "master", BRIDGE, "up")
        sh("ip", "-n", self.uplink_netns, "address", "add",
           f"{UPLINK_ADDRESS}/{SUBNET.prefixlen}", "dev", "eth0")
        sh("ip", "-n", self.uplink_netns, "link", "set", "eth0", "up")

    def stop(self):
        teardown(self.root)
        if self.owner is not None:
            self.owner.close()

    def discard_guest(self, name):
        """Kill a guest's QEMU outright, without waiting for libvirt's own bookkeeping of the
        stop (about 3 s under TCG: its traffic filter rules, one command each); libvirt
        finishes that in the background, and the lab's teardown ends libvirtd anyway. False
        where the guest has no QEMU process here."""
        pid = _pid_in(self.root / "run" / "libvirt" / "qemu" / f"{name}.pid")
        if pid is None:
            return False
        _kill_and_wait([pid])
        return True


def driver_failure(log):
    """The first error of the block that ended a libvirtd driver's start, with the failure it
    caused ("Security driver apparmor not enabled (Initialization of QEMU state driver
    failed)"); None where the log shows none."""
    lines = log.splitlines()
    failed = [i for i, line in enumerate(lines)
              if " error : " in line and "state driver failed" in line]
    if not failed:
        return None
    first = failed[-1]
    while first > 0 and " error : " in lines[first - 1]:
        first -= 1
    cause, failure = (_error_text(lines[i]) for i in (first, failed[-1]))
    return cause if cause == failure else f"{cause} ({failure.partition(':')[0]})"


def _error_text(line):
    """'unsupported configuration: Security driver apparmor not enabled' from a log line
    '<time>: <pid>: error : virSecurityDriverLookup:72 : unsupported configuration: ...'."""
    return line.split(" error : ", 1)[1].split(" : ", 1)[-1].strip()


def namespaces_of(run_id):
    """The lab's host side, uplink station and management network namespaces."""
    return tuple(f"{PREFIX}{run_id}{suffix}" for suffix in ("", "-up", "-mg"))


def require_usable_kvm_node():
    """A root-only /dev/kvm makes libvirt 9.0 re-probe QEMU on every lookup (minutes per start)."""
    kvm = Path("/dev/kvm")
    if kvm.exists() and not kvm.stat().st_mode & 0o060:
        raise LabError("/dev/kvm is root-only (no udev set Debian's 0660 root:kvm), which makes "
                       "libvirt re-probe QEMU on every call; run `make host` "
                       "(scripts/prepare-host) and retry")


def teardown(root):
    """Stop what a lab left under `root`: every process in its namespaces (libvirtd, virtlogd,
    dnsmasq, the guests' QEMU and swtpm), the namespaces and the files. Everything is killed
    at once: the lab is thrown away whole, so the daemons' orderly shutdown (seconds of
    libvirt undoing per-guest firewall rules in a namespace about to vanish) buys nothing. The
    lab's reaper goes last, so that it reaps the rest at once: this host's init may take
    seconds to reap what it adopts."""
    run_id = root.name
    namespaces = [ns for ns in namespaces_of(run_id) if Path(f"/run/netns/{ns}").exists()]
    pids = {pid for ns in namespaces for pid in _pids_in_netns(ns)}
    pids |= {pid for d in DAEMONS if (pid := _pid_in(root / f"{d}.pid")) is not None}
    pids = (pids | cgroups.pids(root)) - {os.getpid()}
    reapers = {pid for pid in pids if _runs_reaper(pid)}
    _kill_and_wait(pids - reapers)
    _wait_reaped(pids - reapers)  # by the lab's reaper, still alive
    _kill_and_wait(reapers)
    stayed = cgroups.remove(root)
    for ns in namespaces:
        sh("ip", "netns", "delete", ns, check=False)
    if stayed:
        raise LabError(f"the lab's cgroups {', '.join(stayed)} still hold a process after its "
                       f"teardown; end that process, and the next run removes them")
    shutil.rmtree(root, ignore_errors=True)


def _runs_reaper(pid):
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return str(REAPER).encode() in argv


def _pids_in_netns(ns):
    found = sh("ip", "netns", "pids", ns, check=False)
    return {int(pid) for pid in found.stdout.split() if pid.isdigit()}


def _pid_in(pidfile):
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def _kill_and_wait(pids, timeout=10):
    """SIGKILL each process and wait until it is gone (or a zombie its parent will reap)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    waiting = set(pids)
    while waiting and time.monotonic() < deadline:
        waiting = {pid for pid in waiting if _alive(pid)}
        if waiting:
            time.sleep(0.01)


def _wait_reaped(pids, timeout=1):
    """Wait until no process of `pids` is left, not even a zombie (a bound: one the lab's
    reaper did not adopt waits for this host's init)."""
    deadline = time.monotonic() + timeout
    while any(Path(f"/proc/{pid}").exists() for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.01)


def _alive(pid):
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"


def sweep(state_dir):
    """Tear down labs no live run holds (a killed run's); never touch a live run's lab, wherever
    its runner is (another PID namespace: the lock is the kernel's, not a pid's)."""
    state_dir = Path(state_dir)
    if not state_dir.exists():
        return []
    swept = []
    for root in state_dir.iterdir():
        if not _held(root):
            teardown(root)
            swept.append(root.name)
    return swept


def _hold(owner):
    """The lab's owner file, made locked: written and locked under another name, then renamed,
    so that no sweep ever sees it unlocked while the run lives. Kept open (and so locked) until
    the lab stops or the run's process ends."""
    partial = owner.with_name(f".{owner.name}.{secrets.token_hex(4)}")
    held = open(partial, "w")
    try:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a name of its own: never held
    except BlockingIOError:
        held.close()
        raise LabError(f"{partial}, made just now, is locked by another process; remove it "
                       f"and retry") from None
    held.write(f"{os.getpid()}\n")
    held.flush()
    partial.rename(owner)
    return held


def _held(root):
    """Whether a live run holds the lab at `root` (its owner file is locked), or has just made
    the folder and not yet its owner file."""
    try:
        with open(root / OWNER) as owner:
            fcntl.flock(owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return False  # no run holds it: its runner is gone
    except BlockingIOError:
        return True
    except FileNotFoundError:
        return _being_made(root)
    except OSError:
        return False  # not a file one can lock: no run's


def _being_made(root):
    """A lab folder another run has just made and not yet named its owner in (Lab.start)."""
    try:
        return time.time() - root.stat().st_mtime < OWNER_GRACE_S
    except FileNotFoundError:
        return True  # gone meanwhile: nothing to sweep
