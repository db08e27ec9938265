"""Risk 5, shared hardware: what guests on one host share without escaping, memory pages merged by
KSM and the sibling threads of one core, either a side channel from one guest into another; the
host's disk, which one guest must not fill or saturate for the others; and the host's CPUs, which
a busy guest must not take from its neighbour, whose death must leave the neighbour running."""

import pytest

from helpers.hostconfig import kernel
from helpers.probes.coresidency import consolelog, cpulimits, neighbour
from helpers.probes.coresidency.iolimits import io_limits
from helpers.probes.coresidency.killedneighbour import changes, kill_a_neighbour, shared_changes
from helpers.probes.coresidency.onecore import one_core
from helpers.probes.qemuproc import QemuProcess
from helpers.verdict.undecided import Undecided


@pytest.mark.control("DEV-05")
@pytest.mark.outside
def test_guest_memory_is_not_merged_with_other_guests(target, qemu_process, evidence):
    ksm = kernel.Ksm.read(target.hypervisor)
    merge = qemu_process.mem_merge
    evidence.note(f"KSM on the host ({kernel.KSM})", str(ksm), "stopped, or guests opted out")
    merging = "merging" if ksm.merging else "not merging"
    evidence.check(f"memory of QEMU pid {qemu_process.pid} offered to KSM (-machine mem-merge)",
                   f"mem-merge {merge or 'on (default)'}, KSM {merging}",
                   "KSM not merging, or mem-merge=off (<memoryBacking><nosharepages/>)",
                   not ksm.merging or merge == "off")


@pytest.mark.control("DEV-06")
@pytest.mark.outside
def test_guests_do_not_share_the_threads_of_a_core(target, policy, evidence):
    smt = kernel.Smt.read(target.hypervisor)
    if smt.control is None:
        raise Undecided(f"{kernel.SMT}/control is missing: the host kernel does not say "
                        f"whether sibling threads are on")
    accepted = policy.coresidency.accept_smt
    vulnerable = list(smt.vulnerable) if smt.shared else []
    evidence.check(f"SMT on the host ({kernel.SMT}), and CPU vulnerabilities the kernel "
                   f"reports SMT vulnerable", f"{smt}; {'; '.join(vulnerable) or 'none'}",
                   "off" + (", or on under core scheduling ([coresidency] accept_smt) with no "
                            "CPU SMT vulnerable" if accepted else ""),
                   not smt.shared or (accepted and not vulnerable))


@pytest.mark.control("DEV-07")
@pytest.mark.outside
def test_guest_console_log_is_rotated(qemu_process, virtlogd_conf, evidence):
    path, settings = virtlogd_conf
    rollover = consolelog.rollover(settings)
    evidence.check(f"max_size in {path}", f"{rollover} bytes" if rollover else "0 (never rotated)",
                   "a size: virtlogd rotates each log there", rollover > 0)
    evidence.expect_none(f"outputs of QEMU pid {qemu_process.pid} written straight to a file, "
                         f"past virtlogd (qemu.conf stdio_handler = \"file\")",
                         consolelog.unrotated_outputs(qemu_process))


@pytest.mark.control("DEV-07")
@pytest.mark.outside
def test_guest_disk_io_is_capped(guest, evidence):
    limits = io_limits(guest.domain, guest.live.writable_disks)
    evidence.note("writable disks of the running guest", sorted(limits), "at least one")
    if not limits:
        raise Undecided("the running guest has no writable disk to judge")
    evidence.expect_none("writable disks without an I/O limit in force (libvirt blockIoTune, "
                         "live)", [dev for dev, found in limits.items() if not found])


@pytest.mark.control("DEV-07")
@pytest.mark.outside
def test_guest_cpu_use_is_bounded(guest, evidence):
    controls = cpulimits.cpu_controls(guest.domain)
    bound = cpulimits.bound(controls, guest.live.cpu_shares)
    evidence.check("CPU controls in force for the running guest (libvirt schedinfo, live)",
                   bound or cpulimits.describe(controls),
                   "a quota for the whole guest (<cputune><global_quota>), quotas for its vCPUs "
                   "and emulator threads, or the share weight its <cputune><shares> sets",
                   bool(bound))


@pytest.mark.control("DEV-09")
@pytest.mark.outside
def test_a_busy_neighbour_cannot_starve_the_guest(guest, sibling, qemu_process, target, policy,
                                                 evidence):
    share = policy.coresidency.neighbour_share
    sibling_pid = QemuProcess.of(target.hypervisor, sibling.name).pid
    serial = guest.live.root.find("devices/serial") is not None
    try:
        with guest.shell() as inside, sibling.shell() as beside, \
                one_core(guest.domain, sibling.domain) as core:
            bouts, loops = neighbour.contest(inside, beside, target.hypervisor,
                                             qemu_process.pid, sibling_pid, share, serial)
    except ValueError as err:
        raise Undecided(str(err)) from None
    evidence.note("where the two guests ran", f"every vCPU and emulator thread of both on host "
                  f"CPU {core}, their own pinning given back after", "one core they share")
    alone, loaded = bouts[0], [b for b in bouts[1:] if not b.skipped]
    evidence.note(f"the guest (QEMU pid {qemu_process.pid}) alone, its loop spinning through "
                  f"the host's window", alone.describe(), "a core's worth of CPU")
    evidence.note("how far the guest's loop counted, spinning through every bout", str(loops),
                  "more than 0: it ran")
    if not loops or not alone.guest_cpu_s:
        raise Undecided(f"the guest's loop never ran: {alone.describe()}")
    if loaded[0].idle_neighbour:
        raise Undecided(f"the neighbour (QEMU pid {sibling_pid}) ran no {loaded[0].load}: "
                        f"{loaded[0].describe(alone)}")
    if not loaded[0].informative:
        raise Undecided(f"beside its neighbour's {loaded[0].load}, {_scant()}: "
                        f"{loaded[0].describe(alone)}")
    judged = [b for b in loaded if not b.idle_neighbour and b.informative]
    for bout in bouts[1:]:
        what = f"the guest beside its neighbour (QEMU pid {sibling_pid}) running a {bout.load}"
        if bout in judged:
            evidence.record(what, bout.describe(alone),
                            f"the core it asked for all through the window, or at least "
                            f"{share:.0%} of its neighbour's CPU", not bout.starved(share))
        else:
            evidence.note(what, bout.describe(alone) if bout.skipped else
                          f"not judged, {_unjudged(bout)}: {bout.describe(alone)}",
                          "a load that runs, or a reason it cannot; a core the two contest")
    evidence.expect_none("loads of the neighbour that starved the guest",
                         [b.load for b in judged if b.starved(share)])


def _unjudged(bout):
    if bout.idle_neighbour:
        return "the load never ran"
    return _scant()


def _scant():
    return f"the host's other work left the two guests less than {neighbour.EVIDENCE_S} s of " \
        f"CPU between them in {neighbour.MOST_WINDOWS} windows"


@pytest.mark.control("DEV-09")
@pytest.mark.outside
def test_a_killed_neighbour_leaves_the_guest_untouched(guest, target, template, base_image,
                                                      accelerator, inputs, evidence):
    before, after, pid = kill_a_neighbour(target, guest, template, base_image, accelerator,
                                          inputs.allow_raw_qemu)
    evidence.note("the running guest before a paused neighbour's QEMU was killed",
                  f"{before.process}; {len(before.files)} files; filters "
                  f"{before.filters or 'none'}; {before.answers}", "running, answering")
    evidence.note(f"vmiso's image cache's copies the guest uses ({len(before.shared)}), which "
                  f"every run on this host shares: what changed", shared_changes(before, after)
                  or "nothing", "noted, not judged: another run's guest may change them")
    evidence.expect_none(f"what changed in the running guest once its neighbour's QEMU (pid "
                         f"{pid}) was killed with SIGKILL and libvirt tore it down",
                         changes(before, after))
