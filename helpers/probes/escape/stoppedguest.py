"""What libvirt leaves on the host's files once a guest stops.

At start libvirt labels every file the guest's QEMU opens for it: it hands the file to QEMU's
uid and gid, and on an SELinux host gives it a context with the guest's own categories. At stop
it must give each file its owner and context back; a file left under the guest's identity is one
that any later or neighbouring guest under the same identity can open. libvirt gives back what
it relabelled on a writable disk, but by design never a read-only or shareable disk's, nor a
backing image's: other guests may still use them.

    files = stopped_guest_files(target, template, image, accelerator)
    [f.describe() for f in files if f.kept]   # the files libvirt did not give back

The guest's files stand for the template's own: its overlay for the template's boot disk, its
scratch disks for the other disks, its UEFI variables. vmiso's own files (the seed, and the base
image, kernel and initramfs in its image cache) are noted, not judged: they are not the
template's, and libvirt never gives back a read-only disk or a backing image.
"""

from dataclasses import dataclass

from helpers.host.errors import HypervisorError
from helpers.hostconfig.confinement import MCS_PAIR
from helpers.probes.hostfiles import Label, backing_files, labels, vmisos_own
from helpers.template.domxml import Domain
from helpers.verdict.undecided import Undecided


@dataclass(frozen=True)
class HostFile:
    what: str  # what the domain uses it as: 'disk vda', 'backing file of vda', '<os><kernel>'
    path: str
    before: Label | None  # None: no such file
    running: Label | None
    after: Label | None
    judged: bool = True  # False for vmiso's own files: its seed and its image cache's

    @property
    def relabelled(self):
        return None not in (self.before, self.running) and \
            (self.running.owner, self.running.context) != (self.before.owner, self.before.context)

    @property
    def kept(self):
        """Left with another owner than before the guest started, or with the guest's own
        SELinux categories (a shared context such as virt_content_t is harmless)."""
        return self.judged and kept(self.before, self.after)

    def describe(self):
        return (f"{self.what} {self.path}: {self.before or 'absent'} before, "
                f"{self.running or 'absent'} while running, {self.after or 'absent'} after stop")


def kept(before, after):
    """Whether a file is left under another identity than before (Labels, None for no file):
    its owner changed, or its context now carries a guest's own SELinux categories (a shared
    context such as virt_content_t is harmless)."""
    if None in (before, after):
        return False
    return after.owner != before.owner or (
        after.context != before.context and bool(MCS_PAIR.search(after.context)))


def stopped_guest_files(target, template, image, accelerator, raw_qemu=False):
    """Every host file a paused domain of `template` uses, labelled before it starts, while it
    runs and after libvirt has stopped it."""
    from helpers.vm.launch import GuestError, paused  # deferred: the judging here is pure

    hypervisor = target.hypervisor
    try:
        with paused(target, template, image, accelerator, raw_qemu) as guest:
            domain = Domain.from_string(guest.xml)
            files = domain.host_files + backing_files(hypervisor, domain.disk_files)
            paths = [path for _, path in files]
            before = labels(hypervisor, paths)
            guest.start()
            running = labels(hypervisor, paths)
            guest.stop()
            after = labels(hypervisor, paths)
            ours = vmisos_own(target, guest.spec.seed)
    except (GuestError, HypervisorError) as err:
        raise Undecided(f"no paused guest of the template could be started and stopped: "
                        f"{err}") from None
    return [HostFile(what, path, before[path], running[path], after[path], not ours(path))
            for what, path in files]


