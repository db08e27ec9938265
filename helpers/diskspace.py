"""Free space where the suite writes (the lab's state, guest overlays), checked before writing.

    require(Path("/run/vmiso"), "the lab's state")   # raises DiskSpaceError when short
"""

import shutil
from pathlib import Path

MIN_FREE_MIB = 128


class DiskSpaceError(Exception):
    """Too little free space; the message names the folder and what to free."""


def require(folder, purpose, mib=MIN_FREE_MIB):
    folder = Path(folder)
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    free = shutil.disk_usage(existing).free // (1 << 20)
    if free < mib:
        raise DiskSpaceError(shortage(existing, free, purpose, mib))


def shortage(folder, free, purpose, mib=MIN_FREE_MIB):
    """The one-line message for too little space under `folder`."""
    return (f"only {free} MiB free under {folder} for {purpose}; vmiso needs {mib} MiB there: "
            f"free some space and retry")
