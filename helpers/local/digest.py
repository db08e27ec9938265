"""The SHA-256 of a file, read a block at a time (images are hundreds of MiB).

    sha256(Path("debian-12.qcow2"))    # '9c1d...' (64 hex digits)

A run asks for the same image's hash twice (the image cache's key, the report's facts): a file
whose inode, size and modification time are unchanged is read once per process.
"""

import functools
import hashlib
import os

BLOCK = 1 << 20


def sha256(path):
    info = os.stat(path)
    return _sha256(os.path.realpath(path), info.st_dev, info.st_ino, info.st_size,
                   info.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _sha256(path, device, inode, size, mtime_ns):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()
