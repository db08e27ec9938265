"""The QEMU process that runs a guest, as the host kernel sees it (local hosts only).

    proc = QemuProcess.of("vmiso-1a2b3c-hardened-1")
    proc.euid, proc.cap_eff, proc.seccomp, proc.sandbox, proc.exe, proc.memory_limit
"""

import os
from dataclasses import dataclass
from pathlib import Path


class ProcessNotFound(Exception):
    """No QEMU process of that guest runs on this machine."""


@dataclass(frozen=True)
class QemuProcess:
    pid: int
    status: dict
    cmdline: tuple

    @classmethod
    def of(cls, guest_name):
        marker = f"guest={guest_name},"
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                args = tuple(a.decode(errors="replace") for a in argv if a)
                if "-name" in args and args[args.index("-name") + 1].startswith(marker):
                    return cls(int(pid), _status(pid), args)
            except (OSError, IndexError):
                continue
        raise ProcessNotFound(f"no QEMU process with -name {marker}... on this machine")

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
        for line in Path(f"/proc/{self.pid}/mountinfo").read_text().splitlines():
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
        return os.readlink(f"/proc/{self.pid}/exe")

    @property
    def dump_guest_core(self):
        """-machine dump-guest-core: 'on', 'off' or '' (QEMU's default, on)."""
        for flag, value in zip(self.cmdline, self.cmdline[1:]):
            if flag == "-machine" and "dump-guest-core=" in value:
                return _option(value, "dump-guest-core")
        return ""

    @property
    def memory_limit(self):
        """(cgroup, limit in bytes or None when unlimited) of the process's memory cgroup."""
        for line in Path(f"/proc/{self.pid}/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if "memory" in controllers.split(","):
                limit = Path(f"{CGROUP_ROOT}/memory{path}/memory.limit_in_bytes")
            elif controllers == "" and Path(f"{CGROUP_ROOT}{path}/memory.max").exists():
                limit = Path(f"{CGROUP_ROOT}{path}/memory.max")
            else:
                continue
            value = limit.read_text().strip()
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


def _status(pid):
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)
