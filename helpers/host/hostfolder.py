"""Folders of vmiso's own on a hypervisor's host, made without following a link and checked
before use. A path that is a symbolic link, not a folder, or another user's is refused with one
line naming it and the fix, and nothing it points to is touched: in a folder anyone may write
to (/var/tmp), another user could have made it first to have root's run change or delete what
it points to.

    own_folder(hypervisor, PurePosixPath("/var/tmp/vmiso"), PASS_THROUGH)
    own_folder(hypervisor, cache / "libvirt-qemu", 0o750, group="libvirt-qemu")
    own_folder(hypervisor, canary / run_id, 0o700, new=True)   # HypervisorError if it is there

Below a folder checked so, only its owner can add, rename or remove entries, so what vmiso makes
there stays vmiso's.
"""

import stat

from helpers.host.errors import HypervisorError

KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISREG, "a file"))
PASS_THROUGH = 0o711  # others (QEMU's user) may pass through to what they are given, not list


def own_folder(hypervisor, path, mode, group=None, new=False):
    """`path` as a folder of the run's user with `mode` (and `group`): made where it is absent,
    else checked and set; `new`: it must not be there yet."""
    try:
        hypervisor.run("mkdir", "-m", f"{mode:o}", "--", str(path))
    except HypervisorError:
        if new:
            raise HypervisorError(f"{path} is already there on the host; vmiso makes it for "
                                  f"one run only") from None
    refusal = why_not_own(hypervisor.lstat(path), hypervisor.uid)
    if refusal:
        raise HypervisorError(f"{path} on the host {refusal}; vmiso follows no link and uses no "
                              f"folder another user made: remove {path} (it is not vmiso's) "
                              f"and run again")
    if group:
        hypervisor.run("chgrp", "--", group, str(path))
    hypervisor.run("chmod", f"{mode:o}", "--", str(path))


def why_not_own(status, uid):
    """Why a path's lstat result is not a folder of `uid`'s, or '' when it is one."""
    if status is None:
        return "cannot be made"
    if not stat.S_ISDIR(status.st_mode):
        kind = next((name for test, name in KINDS if test(status.st_mode)), "another kind of file")
        return f"is {kind}, not a folder"
    if status.st_uid != uid:
        return f"belongs to uid {status.st_uid}, not to uid {uid} that vmiso runs as"
    return ""


def is_own_folder(hypervisor, path):
    """Whether `path` is a folder of the run's user (not a link): what a sweep may enter."""
    return why_not_own(hypervisor.lstat(path), hypervisor.uid) == ""
