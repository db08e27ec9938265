"""The cgroup controllers a host offers libvirt to bound its guests with: enabled in the kernel
(/proc/cgroups) and mounted (a cgroup v1 hierarchy that carries it, or listed in the cgroup v2
root's cgroup.controllers), as virt-host-validate asks for them. Read on this machine or over SSH
(helpers/host/hypervisor.py).

    usable(hv)     # {'cpu', 'cpuacct', 'memory', 'blkio', 'devices', 'cpuset', ...}

cgroup v2 names are given in v1's words (io is blkio), so one set of names serves both.
"""

from pathlib import PurePosixPath

CGROUPS = PurePosixPath("/proc/cgroups")
MOUNTINFO = PurePosixPath("/proc/self/mountinfo")
# the controllers libvirt bounds QEMU with, as virt-host-validate lists them
LIBVIRT_CONTROLLERS = ("cpu", "cpuacct", "cpuset", "memory", "devices", "blkio")
V1_NAMES = {"io": "blkio"}
# on cgroup v2 these live inside others, or in BPF programs libvirt attaches itself
V2_IMPLIED = {"cpu": ("cpuacct",), "memory": (), "io": (), "cpuset": ()}


def usable(hypervisor):
    """The controllers both enabled in the kernel and mounted, in v1's names."""
    enabled = kernel_enabled(hypervisor.read_text(CGROUPS))
    found = set()
    for fstype, point, options in mounts(hypervisor.read_text(MOUNTINFO)):
        if fstype == "cgroup":
            found.update(name for name in options if name in enabled)
        elif fstype == "cgroup2":
            found.update(v2_controllers(hypervisor.read_text(f"{point}/cgroup.controllers")))
    return found


def kernel_enabled(text):
    """Controllers /proc/cgroups lists as enabled."""
    found = set()
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 4 and not line.startswith("#") and fields[3] == "1":
            found.add(fields[0])
    return found


def v2_controllers(text):
    """A cgroup v2 cgroup.controllers in v1's words; devices, which v2 offers through BPF."""
    names = set()
    for name in text.split():
        names.add(V1_NAMES.get(name, name))
        names.update(V2_IMPLIED.get(name, ()))
    return names | {"devices"}


def mounts(mountinfo):
    """(fstype, mount point, super options) of each cgroup mount in /proc/PID/mountinfo."""
    return [(fstype, point, options.split(",")) for point, fstype, options in entries(mountinfo)
            if fstype in ("cgroup", "cgroup2")]


def entries(mountinfo):
    """(mount point, fstype, super options) of every line of /proc/PID/mountinfo's text."""
    found = []
    for line in mountinfo.splitlines():
        before, _, after = line.partition(" - ")
        fields, rest = before.split(), after.split()
        if len(fields) >= 5 and len(rest) >= 3:
            found.append((fields[4], rest[0], rest[2]))
    return found
