"""The QEMU process that runs a guest, as the hypervisor host's kernel sees it (read on this
machine or over SSH: helpers/host/hypervisor.py).

    proc = QemuProcess.of(hypervisor, "vmiso-1a2b3c-hardened-1")
    proc.euid, proc.cap_eff, proc.seccomp, proc.sandbox, proc.exe, proc.memory_limit
    [p.guest_name for p in QemuProcess.every(hypervisor)]   # every guest libvirt runs there
"""

from dataclasses import dataclass


class ProcessNotFound(Exception):
    """No QEMU process of that guest runs on the hypervisor's host."""


@dataclass(frozen=True)
class QemuProcess:
    hypervisor: object
    pid: int
    status: dict
    cmdline: tuple

    @classmethod
    def of(cls, hypervisor, guest_name):
        """The process whose -name starts with guest=<guest_name>, (candidates from pgrep,
        each confirmed by its own command line)."""
        for process in cls.every(hypervisor, f"guest={guest_name},"):
            return process
        raise ProcessNotFound(f"no QEMU process with -name guest={guest_name},... on the "
                              f"hypervisor's host")

    @classmethod
    def every(cls, hypervisor, marker="guest="):
        """Every QEMU process libvirt runs on the host whose -name starts with `marker`."""
        found = hypervisor.host.run("pgrep -f -- %s", marker)
        for pid in found.stdout.split():
            try:
                argv = hypervisor.read_bytes(f"/proc/{pid}/cmdline").split(b"\0")
                args = tuple(a.decode(errors="replace") for a in argv if a)
                if "-name" in args and args[args.index("-name") + 1].startswith(marker):
                    yield cls(hypervisor, int(pid), _status(hypervisor, pid), args)
            except (OSError, IndexError):
                continue

    @property
    def guest_name(self):
        return self.cmdline[self.cmdline.index("-name") + 1].split(",")[0].removeprefix("guest=")

    @property
    def egid(self):
        return int(self.status["Gid"].split()[1])

    @property
    def euid(self):
        return int(self.status["Uid"].split()[1])

    @property
    def cap_eff(self):
        return int(self.status["CapEff"], 16)

    @property
    def seccomp(self):
        """0 off, 1 strict, 2 filter (what QEMU's -sandbox installs)."""
        return int(self.status["Seccomp"])

    @property
    def dev_mount(self):
        """How /dev is mounted for the process: (source, fstype) from /proc/PID/mountinfo."""
        for line in self.hypervisor.read_text(f"/proc/{self.pid}/mountinfo").splitlines():
            fields = line.split()
            if fields[4] == "/dev":
                tail = fields[fields.index("-") + 1:]
                return tail[1], tail[0]
        return "", ""

    @property
    def sandbox(self):
        """The -sandbox option QEMU was started with ('' when none)."""
        args = self.cmdline
        return args[args.index("-sandbox") + 1] if "-sandbox" in args else ""


    @property
    def exe(self):
        """The binary the process runs (/proc/PID/exe); ends in ' (deleted)' once replaced."""
        return self.hypervisor.readlink(f"/proc/{self.pid}/exe")

    @property
    def dump_guest_core(self):
        """-machine dump-guest-core: 'on', 'off' or '' (QEMU's default, on)."""
        return self._machine_option("dump-guest-core")

    @property
    def mem_merge(self):
        """-machine mem-merge (libvirt's <nosharepages/> sets it off): '' is QEMU's default, on:
        the guest's memory is offered to KSM."""
        return self._machine_option("mem-merge")

    def _machine_option(self, key):
        """`key`'s value in the -machine option that sets it; '' where none does."""
        for flag, value in zip(self.cmdline, self.cmdline[1:]):
            if flag == "-machine" and f"{key}=" in value:
                return _option(value, key)
        return ""

    @property
    def memory_limit(self):
        """(cgroup, limit in bytes or None when unlimited) of the process's memory cgroup."""
        for line in self.hypervisor.read_text(f"/proc/{self.pid}/cgroup").splitlines():
            _, controllers, path = line.split(":", 2)
            if "memory" in controllers.split(","):
                limit = f"{CGROUP_ROOT}/memory{path}/memory.limit_in_bytes"
            elif controllers == "" and \
                    self.hypervisor.mode(f"{CGROUP_ROOT}{path}/memory.max") is not None:
                limit = f"{CGROUP_ROOT}{path}/memory.max"
            else:
                continue
            value = self.hypervisor.read_text(limit).strip()
            return path, None if value == "max" or int(value) >= UNLIMITED else int(value)
        return "", None


CGROUP_ROOT = "/sys/fs/cgroup"
UNLIMITED = 1 << 62  # cgroup v1 prints "unlimited" as the largest page-aligned 64-bit value

NETWORK_CHARDEVS = ("tcp:", "telnet:", "udp:", "websocket:")


def network_monitors(cmdline):
    """-monitor/-qmp/-mon endpoints of a QEMU command line that listen on the network."""
    args = list(cmdline)
    found = []
    socket_chardevs = {}
    for flag, value in zip(args, args[1:]):
        if flag == "-chardev" and value.startswith("socket,") and ("port=" in value):
            socket_chardevs[_option(value, "id")] = value
    for flag, value in zip(args, args[1:]):
        if flag in ("-monitor", "-qmp", "-qmp-pretty") and value.startswith(NETWORK_CHARDEVS):
            found.append(f"{flag} {value}")
        elif flag == "-mon" and _option(value, "chardev") in socket_chardevs:
            found.append(f"-mon {value} on -chardev {socket_chardevs[_option(value, 'chardev')]}")
    return found


def _option(value, key):
    for part in value.split(","):
        if part.startswith(key + "="):
            return part.split("=", 1)[1]
    return ""


def _status(hypervisor, pid):
    lines = hypervisor.read_text(f"/proc/{pid}/status").splitlines()
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def options(value):
    """A QEMU option's key=value list as a dict ('port=5901,addr=0.0.0.0' -> {'port': '5901',
    'addr': '0.0.0.0'}); a bare word maps to ''."""
    return dict(part.partition("=")[::2] for part in value.split(","))
