"""Whether a guest's confinement holds through the lifecycle steps libvirt offers it.

At each step libvirt stops, starts or changes the guest's QEMU and must label again what it
hands over and give back what it takes away: a save image holds the guest's whole memory, a
hotplugged disk is handed to the guest's identity and must be given back at unplug, a restore
or a revert must bring back the same identity, label and traffic filter. tp-libvirt's svirt tests
walk the same steps.

    running_drifts(baseline, state, judged)   # how a running guest left its first confinement
    stopped_drifts(before, state, judged)     # what a stopped guest left on the host
    image_exposed(label, "64055:64055")       # why a save image is open to others, '' if not

This module judges; lifecyclewalk.py walks a paused guest of the template through the steps
and reads the host at each.
"""

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from helpers.probes.escape.stoppedguest import kept
from helpers.probes.hostfiles import Label
from helpers.template.domxml import SEED_SERIAL

# Bits of a file's mode that let anyone but its owner read or write it.
NOT_OWNERS = 0o077


@dataclass(frozen=True)
class State:
    """What the host shows of the guest at one moment."""

    files: dict  # path -> Label, None where there is no such file
    process: str | None  # QEMU's 'uid:gid label...', None where no QEMU runs
    filters: dict  # MAC of each filtered NIC -> the filter its binding applies, '' for none

    def describe(self, reference=None):
        """QEMU, files and filter bindings; with a `reference` State, only the files whose
        label differs from it (or that it lacks) are named."""
        changed = [p for p in self.files
                   if reference is None or reference.files.get(p, "?") != self.files[p]]
        files = ", ".join(f"{p}: {self.files[p] or 'absent'}" for p in changed)
        same = len(self.files) - len(changed)
        if reference is not None and same:
            files = ", ".join(filter(None, [files, f"{same} other files as then"]))
        filters = ", ".join(f"{mac}: {f or 'no binding'}" for mac, f in self.filters.items())
        return (f"QEMU {self.process or 'not running'}; files {files or 'none'}; "
                f"filter bindings {filters or 'none'}")


@dataclass
class Step:
    """One lifecycle step: what was done, what the host showed, what drifted."""

    name: str
    done: bool = True
    why_not: str = ""  # why the step could not be done on this host
    seen: list = field(default_factory=list)  # (when, what the host showed)
    drifts: list = field(default_factory=list)
    left_out: list = field(default_factory=list)  # parts of a done step not done, with why
    seconds: float = 0.0

    @property
    def not_done(self):
        """What of this step was not done, with why: never counted as passed."""
        return [f"{self.name}: {why}" for why in ([self.why_not] if not self.done else [])
                + self.left_out]

    def describe(self):
        if not self.done:
            return f"{self.name}: not done: {self.why_not}"
        took = f" ({self.seconds:.1f} s)" if self.seconds else ""
        return f"{self.name}{took}: " + "; ".join(f"{when}: {what}" for when, what in self.seen)


@dataclass(frozen=True)
class DiskShape:
    """What of a disk's element decides whether libvirt gives its file back at unplug."""

    readonly: bool = False
    shareable: bool = False
    seclabels: tuple = ()  # its <source><seclabel> elements, as XML

    @property
    def names(self):
        return tuple(n for n, on in (("read-only", self.readonly), ("shareable", self.shareable))
                     if on)


def disk_shapes(domain):
    """The disk shapes a hotplug tries: a writable disk, and each read-only or shareable shape
    of the template's own disks (vmiso's seed left out), with its <source><seclabel>."""
    shapes = [DiskShape()]
    for disk in domain.root.findall("devices/disk"):
        if disk.findtext("serial") == SEED_SERIAL:
            continue
        source = disk.find("source")
        shape = DiskShape(disk.find("readonly") is not None, disk.find("shareable") is not None,
                          tuple(ET.tostring(label, encoding="unicode").strip()
                                for label in ([] if source is None
                                              else source.findall("seclabel"))))
        if shape.names and shape not in shapes:
            shapes.append(shape)
    return shapes


@dataclass
class Walk:
    before: State  # the domain's files before its first start
    baseline: State  # the paused guest as it first ran
    judged: tuple  # the template's files (vmiso's own are noted, not judged)
    steps: list = field(default_factory=list)

    @property
    def drifts(self):
        return [f"{s.name}: {d}" for s in self.steps for d in s.drifts]


def running_drifts(baseline, state, judged):
    """How a running guest's state differs from the confinement it first ran under: another
    QEMU identity or label, a file labelled otherwise, a filtered NIC without its filter."""
    found = []
    if state.process is None:
        return ["no QEMU process runs the guest"]
    if state.process != baseline.process:
        found.append(f"QEMU runs as {state.process}, first as {baseline.process}")
    for path in judged:
        was, now = baseline.files.get(path), state.files.get(path)
        if was is not None and now != was:
            found.append(f"{path} is {now or 'absent'}, first {was}")
    for mac, applied in baseline.filters.items():
        now = state.filters.get(mac, "")
        if now != applied:
            found.append(f"NIC {mac} has {f'filter {now}' if now else 'no filter binding'}, "
                         f"first {applied}")
    return found


def stopped_drifts(before, state, judged):
    """What a stopped guest left on the host: a QEMU still running, or a file left with the
    guest's owner or SELinux categories where before the start it had other ones."""
    found = [f"a QEMU process still runs as {state.process}"] if state.process else []
    for path in judged:
        if kept(before.files.get(path), state.files.get(path)):
            found.append(f"{path} is {state.files[path]}, before the start "
                         f"{before.files[path]}")
    return found


def image_exposed(label: Label | None, guest_identity):
    """Why an image of the guest's memory (a save or managed-save image) is open to others,
    '' where it is not: readable or writable by anyone but its owner, or owned by the guest's
    own identity, under which any guest that escapes could rewrite what it restores."""
    if label is None:
        return "no such file"
    problems = []
    if int(label.mode, 8) & NOT_OWNERS:
        problems.append(f"mode {label.mode} lets others than its owner read or write it")
    if guest_identity != "0:0" and label.owner == guest_identity:
        problems.append(f"owned by the guest's own identity {label.owner}")
    return "; ".join(problems)
