"""A neighbour's QEMU killed beside the guest (DEV-09): a paused guest of the template starts
beside the running one, its QEMU is killed (SIGKILL, by its pid), and the running guest is read
before and after: its QEMU process, the owner, mode and label of each of its files, its NICs'
filter bindings, and whether it still answers.

    before, after = kill_a_neighbour(target, guest, template, image, accelerator)
    changes(before, after)          # what differs in the running guest: [] when nothing
    shared_changes(before, after)   # the image cache's copies, which other runs use too: noted
"""

import time
from dataclasses import dataclass, field

from helpers.host.errors import HypervisorError
from helpers.probes.filterbindings import filter_bindings
from helpers.probes.hostfiles import backing_files, in_image_cache, labels
from helpers.probes.qemuproc import ProcessNotFound, QemuProcess
from helpers.template.domxml import Domain
from helpers.verdict.undecided import Undecided

GONE_WITHIN_S = 30  # libvirt notices a killed QEMU and tears its domain down within this, on
# a busy host too (a bound: the wait ends when it has)


@dataclass(frozen=True)
class Reading:
    process: str  # QEMU's pid, start time and uid:gid, '' where it no longer runs
    files: dict  # {path: Label}: the guest's own files (its disks, seed, console log, ...)
    filters: dict  # {MAC: filter}
    answers: str  # what a command in the guest said: 'answers' or why not
    shared: dict = field(default_factory=dict)  # {path: Label}: vmiso's image cache's copies,
    # which every run on the host uses (another run's guest may change their owner at any time)


def changes(before, after):
    """[what differs between two Readings of the running guest]."""
    found = []
    if after.process != before.process:
        found.append(f"its QEMU: {before.process} before, {after.process or 'gone'} after")
    for path, label in before.files.items():
        if after.files.get(path) != label:
            found.append(f"{path}: {label} before, {after.files.get(path) or 'absent'} after")
    if after.filters != before.filters:
        found.append(f"its filter bindings: {before.filters} before, {after.filters} after")
    if after.answers != before.answers:
        found.append(f"over SSH: {before.answers} before, {after.answers} after")
    return found


def kill_a_neighbour(target, guest, template, image, accelerator, raw_qemu=False):
    """(Reading, Reading) of the running `guest` before and after a paused guest of `template`
    beside it lost its QEMU to SIGKILL, and libvirt tore it down; plus the killed pid."""
    import libvirt  # deferred, as in stoppedguest.py

    from helpers.vm.launch import GuestError, paused

    try:
        with paused(target, template, image, accelerator, raw_qemu) as doomed:
            doomed.start()
            pid = QemuProcess.of(target.hypervisor, doomed.spec.name).pid
            before = read(target, guest)
            target.hypervisor.run("kill", "-KILL", str(pid))
            _wait_gone(doomed.domain, doomed.spec.name)
            return before, read(target, guest), pid
    except (GuestError, HypervisorError, ProcessNotFound, libvirt.libvirtError) as err:
        raise Undecided(f"no neighbour of the guest could be started and killed: {err}") \
            from None


def read(target, guest):
    """A Reading of the running guest."""
    domain = Domain.from_string(guest.domain.XMLDesc(0))
    files = [path for _, path in domain.host_files + backing_files(target.hypervisor,
                                                                  domain.disk_files)]
    found = labels(target.hypervisor, files)
    shared = {p: label for p, label in found.items() if in_image_cache(target, p)}
    return Reading(_process(target.hypervisor, guest.name),
                   {p: label for p, label in found.items() if p not in shared},
                   filter_bindings(target.conn, guest.domain), _answers(guest), shared)


def shared_changes(before, after):
    """[what differs in the image cache's copies between two Readings]: noted, not judged."""
    return [f"{path}: {label} before, {after.shared.get(path) or 'absent'} after"
            for path, label in before.shared.items() if after.shared.get(path) != label]


def _process(hypervisor, name):
    try:
        qemu = QemuProcess.of(hypervisor, name)
    except ProcessNotFound:
        return ""
    started = hypervisor.read_text(f"/proc/{qemu.pid}/stat").rsplit(")", 1)[1].split()[19]
    return f"pid {qemu.pid} started at tick {started}, uid {qemu.euid} gid {qemu.egid}"


def _answers(guest):
    from helpers.vm.launch import GuestError

    try:
        done = guest.run("echo answers")
    except GuestError as err:
        return f"no answer ({err})"
    return done.stdout.strip() or f"no answer (exit {done.rc})"


def _wait_gone(domain, name):
    import libvirt

    deadline = time.monotonic() + GONE_WITHIN_S
    while time.monotonic() < deadline:
        try:
            if not domain.isActive():
                return
        except libvirt.libvirtError as err:
            if err.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return
            raise
        time.sleep(0.05)
    raise Undecided(f"libvirt still ran {name} {GONE_WITHIN_S} s after its QEMU was killed")
