"""Files QEMU must read (base images, the direct-boot kernel and initramfs), copied where QEMU's
user can read them and nobody but their owner can write them, keyed by content hash.

    images = ImageCache(hypervisor, group="libvirt-qemu")
    images.provide(Path(".cache/guest/62e35c4c/probe.img"))
    # -> /var/cache/vmiso/images/libvirt-qemu/af9b50b2a0fff08e/probe.img on this machine,
    #    /var/tmp/vmiso/images/libvirt-qemu/af9b50b2a0fff08e/probe.img on a remote host

QEMU runs as a user of its own (libvirt-qemu on Debian) and cannot walk into a clone whose parent
folders are private (/root is 0700, as is every `mktemp -d` folder), so nothing of the clone is
handed to QEMU. The cache's top folders only let others pass through (0711); below them, a folder
per QEMU group and per content hash is 0750, group QEMU's, and each file in it 0444, owned by
whoever runs vmiso (root): only QEMU's group reaches the files, and every owner can read them.
libvirt's DAC driver hands a kernel or image to QEMU's user at a guest's start and gives it back
at its stop, and two runs at once (two labs, two libvirtds) share the copies: one run's guest
stopping can leave a copy root's while another run's guest starts on it (seen with 0440: QEMU
could not open the kernel).

Copies are written under a name of their own and renamed into place, so two runs at once never
see half a file. libvirt's DAC driver hands a backing file to QEMU's user when
a guest starts and leaves it so (a backing file may be shared), so a copy found from an earlier
run is checked against its hash before it is used again, and replaced if it changed.

The cache is kept between runs, within limits (LIMITS). Each time a run is given a copy, its
folder is touched (the folder stays the run user's; libvirt hands the file to QEMU's), and
`prune` removes the copies unused for 30 days, then the least recently used until the rest fit in
10 GiB, but never one used within the last hour (a run may be booting guests on it). Every run
that used the cache prunes it at its end (Target.close); `make prune` does it by hand:

    removed, kept_bytes = prune(hypervisor)   # removed: [Entry(path=…/libvirt-qemu/0c1d…, …)]
"""

import secrets
import stat
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from helpers.host.clock import clock
from helpers.host.errors import HypervisorError
from helpers.host.hostfolder import PASS_THROUGH, own_folder, why_not_own
from helpers.local import waits
from helpers.local.digest import sha256

GROUP_FOLDER, GROUP_FILE = 0o750, 0o444
HOUR, DAY, GIB = 3600, 86400, 2**30
# Waiting for another booting guest's copy into the cache: a 1 GiB cloud image through SSH at
# 1 MB/s takes 17 minutes
COPY_QUEUE_S = 1800


class ImageCache:
    def __init__(self, hypervisor, group):
        self.hypervisor = hypervisor
        self.group = group
        self.root = PurePosixPath(hypervisor.image_cache)
        self._lock = threading.Lock()  # guests boot in threads
        self._provided = {}  # local path -> its copy on the hypervisor
        self._folders_made = set()

    def provide(self, local_path):
        """The path on the hypervisor of a copy of this machine's file, readable by QEMU; its
        folder's mtime says it was used now (what `prune` reads)."""
        local_path = Path(local_path)
        with waits.acquired(self._lock, COPY_QUEUE_S, f"the image cache on the hypervisor's "
                            f"host (another guest's copy into it), to place {local_path.name}",
                            HypervisorError):
            if local_path not in self._provided:
                self._provided[local_path] = self._place(local_path)
            where = self._provided[local_path]
        self.hypervisor.run("touch", "-c", "--", str(where.parent))
        return where

    def _place(self, local_path):
        digest = sha256(local_path)
        folder = self.root / self.group / digest[:16]
        self._make_folders(folder)
        where = folder / local_path.name
        mode = self.hypervisor.mode(where)
        if mode is not None and self.hypervisor.digest(where) == digest:
            if stat.S_IMODE(mode) != GROUP_FILE:  # a copy an earlier vmiso made 0440
                self.hypervisor.run("chmod", f"{GROUP_FILE:o}", str(where))
            return where
        partial = folder / f".{local_path.name}.{secrets.token_hex(4)}.partial"
        try:
            self.hypervisor.put(local_path, partial)
            self.hypervisor.run("chgrp", self.group, str(partial))
            self.hypervisor.run("chmod", f"{GROUP_FILE:o}", str(partial))
            self.hypervisor.run("mv", "-f", str(partial), str(where))
        finally:
            if self.hypervisor.mode(partial) is not None:
                self.hypervisor.remove_tree(partial)
        return where

    def _make_folders(self, folder):
        """Each folder from the cache's parent down, made or set to its group and mode, once a
        run; a link, or a folder someone else made (another user in /var/tmp), is refused
        (helpers/host/hostfolder.py)."""
        for path, group, mode in ((self.root.parent, None, PASS_THROUGH),
                                  (self.root, None, PASS_THROUGH),
                                  (self.root / self.group, self.group, GROUP_FOLDER),
                                  (folder, self.group, GROUP_FOLDER)):
            if path not in self._folders_made:
                own_folder(self.hypervisor, path, mode, group)
                self._folders_made.add(path)


@dataclass(frozen=True)
class Limits:
    """How long a copy may stay unused, how much the cache may hold, and for how long after its
    last use a copy is kept whatever the cache holds (a run may be using it)."""

    max_age_s: float = 30 * DAY
    max_bytes: int = 10 * GIB
    in_use_s: float = HOUR


LIMITS = Limits()


@dataclass(frozen=True)
class Entry:
    """A content-hash folder of the cache: when it was last used (its mtime) and its bytes."""

    path: str
    used: float
    size: int


def to_remove(entries, now, limits=LIMITS):
    """The entries to remove: those unused for longer than limits.max_age_s, then the least
    recently used until the rest fit in limits.max_bytes; never one used within limits.in_use_s.

    >>> to_remove([Entry("a", used=0, size=1)], now=31 * DAY)
    [Entry(path='a', used=0, size=1)]
    """
    kept = sum(entry.size for entry in entries)
    chosen = []
    for entry in sorted(entries, key=lambda e: e.used):
        age = now - entry.used
        if age < limits.in_use_s:
            break  # this one and every later one is in use
        if age > limits.max_age_s or kept > limits.max_bytes:
            chosen.append(entry)
            kept -= entry.size
    return chosen


def prune(hypervisor, limits=LIMITS):
    """Remove the copies of the hypervisor's cache that `to_remove` picks, judged by the host's
    clock; (the entries removed, the bytes kept). Only folders of the run's user are entered or
    removed, and no link is followed."""
    found = cached(hypervisor)
    chosen = to_remove(found, clock(hypervisor), limits)
    for entry in chosen:
        hypervisor.remove_tree(entry.path)
    return chosen, sum(entry.size for entry in found) - sum(entry.size for entry in chosen)


def cached(hypervisor):
    """Every content-hash folder of the hypervisor's cache as an Entry; none where there is no
    cache. A link, or another user's folder, is skipped below the cache's root, and refused
    (HypervisorError) as the root or its parent."""
    root = PurePosixPath(hypervisor.image_cache)
    if hypervisor.lstat(root) is None:
        return []
    for folder in (root.parent, root):
        refusal = why_not_own(hypervisor.lstat(folder), hypervisor.uid)
        if refusal:
            raise HypervisorError(f"the image cache's folder {folder} on the host {refusal}; "
                                  f"prune it as the user vmiso runs as, the folder's owner "
                                  f"(or remove {folder}: it is not vmiso's)")
    return [Entry(str(folder), status.st_mtime, _size(hypervisor, folder))
            for group, _ in _own_folders(hypervisor, root)
            for folder, status in _own_folders(hypervisor, group)]


def _own_folders(hypervisor, folder):
    """(path, lstat) of each folder in `folder` that is the run's user's: links and other users'
    folders are left out."""
    statuses = ((folder / name, hypervisor.lstat(folder / name))
                for name in _names(hypervisor, folder))
    return [(path, status) for path, status in statuses
            if why_not_own(status, hypervisor.uid) == ""]


def _size(hypervisor, folder):
    """The bytes of the plain files in `folder` (links not followed)."""
    statuses = (hypervisor.lstat(folder / name) for name in _names(hypervisor, folder))
    return sum(s.st_size for s in statuses if s is not None and stat.S_ISREG(s.st_mode))


def _names(hypervisor, folder):
    """The names in `folder`; none once another run's prune removed it."""
    try:
        return hypervisor.listdir(folder)
    except FileNotFoundError:
        return []


def entries(root):
    """The copies a cache on this machine holds: its content-hash folders."""
    root = Path(root)
    if not root.is_dir():
        return set()
    return {entry for group in root.iterdir() if group.is_dir() for entry in group.iterdir()}
