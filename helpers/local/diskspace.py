"""Free space where the suite writes (the lab's state, guest overlays), checked before writing.

    require(Path("/run/vmiso"), "the lab's state")   # raises DiskSpaceError when short
    require(workroot, "overlays", free_mib=hypervisor.free_mib)   # on the hypervisor's host
"""

import shutil
from pathlib import Path

MIN_FREE_MIB = 128


class DiskSpaceError(Exception):
    """Too little free space; the message names the folder and what to free."""


def free_mib(folder):
    """MiB free on this machine where `folder` is, or would be made (its nearest existing
    parent)."""
    folder = Path(folder)
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    return shutil.disk_usage(existing).free // (1 << 20)


def require(folder, purpose, mib=MIN_FREE_MIB, free_mib=free_mib):
    free = free_mib(folder)
    if free < mib:
        raise DiskSpaceError(f"only {free} MiB free under {folder} for {purpose}; vmiso needs "
                             f"{mib} MiB there: free some space and retry")
