"""The machine's cgroups inside the lab, and a cgroup of the lab's own in every hierarchy.

`ip netns exec` mounts a fresh /sys for the namespace, and a fresh /sys has nothing mounted on
/sys/fs/cgroup: the lab's libvirtd would find no cgroup and place QEMU in none, so that no
<cputune> of a guest would ever be applied. The lab makes a cgroup vmiso-<id> under the
runner's own in each hierarchy, moves its daemons into them, and starts them in a cgroup
namespace of their own, where it mounts the machine's hierarchies again: the daemons see the
lab's cgroups as the root of each. libvirt makes its /machine partition at that root, so every
cgroup of the lab's guests lies inside the lab's, and goes with it.

    made = create(root, run_id)
    steps = join_steps(made)   # then, in a cgroup namespace of their own: mount_steps(made)
    remove(root)               # once pids(root) are gone: [folders that stayed]
"""

import errno
import os
import shlex
import time
from dataclasses import dataclass
from pathlib import Path

from helpers.hostconfig.cgroupcontrollers import entries

CGROUP_ROOT = "/sys/fs/cgroup"
RECORD = "cgroups"  # the lab's cgroup folders, one per line, under the lab's root
REMOVE_TIMEOUT = 5  # seconds a killed process may take to leave its cgroup


@dataclass(frozen=True)
class Mount:
    point: str
    fstype: str  # tmpfs (the folder holding the hierarchies), cgroup (v1) or cgroup2
    options: str  # its super options, as the machine mounted it

    def step(self):
        """A shell step that mounts it again where the machine has it."""
        q = shlex.quote
        return (f"mkdir -p {q(self.point)} && mount -t {self.fstype} -o {q(self.options)} "
                f"{self.fstype} {q(self.point)}")


def mounts(mountinfo="/proc/self/mountinfo"):
    """[Mount] at and under /sys/fs/cgroup, in mount order."""
    return [Mount(point, fstype, options)
            for point, fstype, options in entries(Path(mountinfo).read_text())
            if (point == CGROUP_ROOT or point.startswith(CGROUP_ROOT + "/"))
            and fstype in ("tmpfs", "cgroup", "cgroup2")]


def hierarchies(mountinfo="/proc/self/mountinfo", cgroup="/proc/self/cgroup"):
    """[(Mount, the folder of the runner's own cgroup in it)] for every mounted hierarchy."""
    found = []
    cgroup_mounts = [m for m in mounts(mountinfo) if m.fstype != "tmpfs"]
    for line in Path(cgroup).read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        wanted = set(controllers.split(",")) if controllers else set()
        for mount in cgroup_mounts:
            if (mount.fstype == "cgroup2") == (not wanted) and \
                    wanted <= set(mount.options.split(",")):
                found.append((mount, Path(mount.point + path)))
                break
    return found


def create(root, run_id, mountinfo="/proc/self/mountinfo", cgroup="/proc/self/cgroup"):
    """Make the lab's cgroup in every hierarchy, recorded under `root` for remove():
    [(Mount, the lab's folder)]. A hierarchy the lab cannot make a cgroup in (a read-only
    cgroupfs) is left out, and so never shown to libvirt, which could not make one either."""
    made = []
    record = Path(root) / RECORD
    for mount, parent in hierarchies(mountinfo, cgroup):
        folder = parent / f"vmiso-{run_id}"
        try:
            folder.mkdir()
        except OSError:
            continue
        made.append((mount, folder))
        record.write_text("".join(f"{f}\n" for _, f in made))
        _inherit_cpuset(parent, folder)
    return made


def mount_steps(made, mountinfo="/proc/self/mountinfo"):
    """Shell steps, run in the lab's cgroup namespace, that mount the folder holding the
    hierarchies and each hierarchy the lab has a cgroup in."""
    return [m.step() for m in mounts(mountinfo) if m.fstype == "tmpfs"] + \
        [mount.step() for mount, _ in made]


def _inherit_cpuset(parent, folder):
    """A new cpuset cgroup has no CPUs and no memory nodes, and takes no process until given
    its parent's."""
    for name in ("cpuset.cpus", "cpuset.mems"):
        if (parent / name).exists():
            (folder / name).write_text((parent / name).read_text())


def join_steps(made):
    """Shell steps that move the shell running them, and what it starts, into the lab's
    cgroups; they reach them through the runner's own root, as a fresh /sys shows none."""
    runner_root = f"/proc/{os.getpid()}/root"
    return [f"echo $$ > {shlex.quote(runner_root + str(folder / 'cgroup.procs'))}"
            for _, folder in made]


def pids(root):
    """Every process in the lab's cgroups and the cgroups below them."""
    found = set()
    for folder in _recorded(root):
        for below, _, _ in os.walk(folder):
            try:
                found |= {int(p) for p in (Path(below) / "cgroup.procs").read_text().split()}
            except OSError:
                pass  # a threaded cgroup lists its processes in its domain's cgroup.procs
    return found


def _recorded(root):
    record = Path(root) / RECORD
    return record.read_text().splitlines() if record.exists() else []


def remove(root):
    """Remove the lab's cgroups and every cgroup libvirt made inside them, deepest first;
    [the folders that stayed] (a process still in them)."""
    stayed = []
    for folder in _recorded(root):
        for below, _, _ in os.walk(folder, topdown=False):
            if not _rmdir(Path(below)):
                stayed.append(below)
    if not stayed:
        (Path(root) / RECORD).unlink(missing_ok=True)
    return stayed


def _rmdir(folder):
    deadline = time.monotonic() + REMOVE_TIMEOUT
    while True:
        try:
            folder.rmdir()
            return True
        except FileNotFoundError:
            return True
        except OSError as err:
            if err.errno != errno.EBUSY or time.monotonic() > deadline:
                return False
            time.sleep(0.05)
