"""The files of a guest on its host, as `stat` labels them: owner, mode and SELinux context.

    labels(hypervisor, ["/var/lib/libvirt/images/a.qcow2"])   # {path: Label, or None}
    backing_files(hypervisor, [("disk vda", "/var/lib/libvirt/images/a.qcow2")])
    in_image_cache(target, path)          # one of vmiso's shared copies, not the guest's own
"""

import json
import shlex
from dataclasses import dataclass

from helpers.host.errors import HypervisorError
from helpers.verdict.undecided import Undecided

# One line per file: path|uid:gid|mode|SELinux context ('?' without one), or path|absent;
# stat exits 1 where it prints '?', so its status is not the script's.
STAT = ('for f; do if [ -e "$f" ]; then stat -c "%n|%u:%g|%a|%C" -- "$f" 2>/dev/null; '
        'else echo "$f|absent"; fi; done; true')


@dataclass(frozen=True)
class Label:
    owner: str  # uid:gid
    mode: str  # octal
    context: str  # the SELinux context, '' without one

    def __str__(self):
        return f"{self.owner} {self.mode}" + (f" {self.context}" if self.context else "")


def backing_files(hypervisor, disks):
    """[(what, path)] of the images under the disks' images (their qcow2 backing chains)."""
    found = []
    for what, path in disks:
        try:
            chain = json.loads(hypervisor.run("qemu-img", "info", "-U", "--backing-chain",
                                              "--output=json", path))
        except HypervisorError as err:
            raise Undecided(f"qemu-img could not read the backing chain of {path}: {err}") \
                from None
        found += [(f"backing file of {what}", image["filename"]) for image in chain[1:]]
    return found


def labels(hypervisor, paths):
    """{path: its Label, None where there is no such file}, in one command."""
    out = hypervisor.run("sh", "-c", STAT, "sh", *paths) if paths else ""
    found = {}
    for line in out.splitlines():
        if line.endswith("|absent"):
            found[line.removesuffix("|absent")] = None
            continue
        path, owner, mode, context = line.rsplit("|", 3)
        found[path] = Label(owner, mode, "" if context == "?" else context)
    missing = [p for p in paths if p not in found]
    if missing:
        raise Undecided(f"stat named no label for {', '.join(map(shlex.quote, missing))}")
    return found


def in_image_cache(target, path):
    """Whether `path` is a copy in vmiso's image cache on the target's host (a base image, a
    kernel, an initramfs), which every run's guests on that host share."""
    return path.startswith(f"{target.images.root}/")


def vmisos_own(target, seed):
    """Whether a path is one of vmiso's own files rather than a stand-in for the template's:
    the seed with the guest's keys, or a copy in the image cache."""
    return lambda path: path == str(seed) or in_image_cache(target, path)
