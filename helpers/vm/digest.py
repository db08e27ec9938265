"""The SHA-256 of a file, read a block at a time (images are hundreds of MiB).

    sha256(Path("debian-12.qcow2"))    # '9c1d...' (64 hex digits)
"""

import hashlib

BLOCK = 1 << 20


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()
