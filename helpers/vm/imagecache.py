"""Files QEMU must read (base images, the direct-boot kernel and initramfs), copied where QEMU's
user can read them and nobody but their owner can write them, keyed by content hash.

    images = ImageCache(hypervisor, group="libvirt-qemu")
    images.provide(Path(".cache/guest/62e35c4c/probe.img"))
    # -> /var/cache/vmiso/images/libvirt-qemu/af9b50b2a0fff08e/probe.img on this machine,
    #    /var/tmp/vmiso/images/libvirt-qemu/af9b50b2a0fff08e/probe.img on a remote host

QEMU runs as a user of its own (libvirt-qemu on Debian) and cannot walk into a clone whose parent
folders are private (/root is 0700, as is every `mktemp -d` folder), so nothing of the clone is
handed to QEMU. The cache's top folders only let others pass through (0711); below them, a folder
per QEMU group and per content hash is 0750 and each file 0440, group QEMU's, owned by whoever
runs vmiso (root). Copies are written under a name of their own and renamed into place, so two
runs at once never see half a file. libvirt's DAC driver hands a backing file to QEMU's user when
a guest starts and leaves it so (a backing file may be shared), so a copy found from an earlier
run is checked against its hash before it is used again, and replaced if it changed.

The cache is kept between runs; `rm -rf /var/cache/vmiso` (or the remote folder) empties it.
"""

import secrets
import threading
from pathlib import Path, PurePosixPath

from helpers.host.hostfolder import PASS_THROUGH, own_folder
from helpers.local.digest import sha256

GROUP_FOLDER, GROUP_FILE = 0o750, 0o440


class ImageCache:
    def __init__(self, hypervisor, group):
        self.hypervisor = hypervisor
        self.group = group
        self.root = PurePosixPath(hypervisor.image_cache)
        self._lock = threading.Lock()  # guests boot in threads
        self._provided = {}  # local path -> its copy on the hypervisor
        self._folders_made = set()

    def provide(self, local_path):
        """The path on the hypervisor of a copy of this machine's file, readable by QEMU."""
        local_path = Path(local_path)
        with self._lock:
            if local_path not in self._provided:
                self._provided[local_path] = self._place(local_path)
            return self._provided[local_path]

    def _place(self, local_path):
        digest = sha256(local_path)
        folder = self.root / self.group / digest[:16]
        self._make_folders(folder)
        where = folder / local_path.name
        if self.hypervisor.mode(where) is not None and self.hypervisor.digest(where) == digest:
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


def entries(root):
    """The copies a cache on this machine holds: its content-hash folders."""
    root = Path(root)
    if not root.is_dir():
        return set()
    return {entry for group in root.iterdir() if group.is_dir() for entry in group.iterdir()}
