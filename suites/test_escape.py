"""Risk 2, escape containment: what a guest that broke out of QEMU would hold on the host."""

import pytest

from helpers.hostconfig import confinement, facts
from helpers.probes.escape.escapedrill import EscapeDrill
from helpers.probes.escape.lifecyclewalk import lifecycle
from helpers.probes.escape.stoppedguest import stopped_guest_files
from helpers.probes.qemuproc import QemuProcess
from helpers.verdict.undecided import Undecided

SECCOMP_FILTER = 2
SANDBOX_DENIALS = ("on", "obsolete=deny", "elevateprivileges=deny", "spawn=deny",
                   "resourcecontrol=deny")


@pytest.mark.control("ESC-01")
@pytest.mark.outside
def test_qemu_runs_as_an_unprivileged_user(qemu_process, target, evidence):
    uid = qemu_process.euid
    user = facts.user_name(target.hypervisor, uid) or "no user of the host"  # the host's names
    evidence.check(f"effective user of QEMU pid {qemu_process.pid} (/proc/PID/status Uid)",
                   f"{user} (uid {uid})", "not root", uid != 0)


@pytest.mark.control("ESC-02")
@pytest.mark.outside
def test_qemu_has_no_effective_capabilities(qemu_process, evidence):
    caps = qemu_process.cap_eff
    evidence.check(f"CapEff of QEMU pid {qemu_process.pid}", f"{caps:#018x}",
                   "0x0000000000000000", caps == 0)


@pytest.mark.control("ESC-03")
@pytest.mark.outside
def test_qemu_runs_in_a_seccomp_sandbox(qemu_process, evidence):
    evidence.check(f"Seccomp mode of QEMU pid {qemu_process.pid}", qemu_process.seccomp,
                   f"{SECCOMP_FILTER} (filter)", qemu_process.seccomp == SECCOMP_FILTER)
    options = qemu_process.sandbox.split(",")
    missing = [o for o in SANDBOX_DENIALS if o not in options]
    evidence.check("QEMU -sandbox option", qemu_process.sandbox or "absent",
                   ",".join(SANDBOX_DENIALS), not missing)


@pytest.mark.control("ESC-05")
@pytest.mark.outside
def test_qemu_has_a_private_dev(qemu_process, evidence):
    source, fstype = qemu_process.dev_mount
    evidence.check(f"/dev in QEMU pid {qemu_process.pid}'s mount namespace (/proc/PID/mountinfo)",
                   f"{source or '?'} ({fstype or 'no /dev mount'})",
                   "devfs (tmpfs): libvirt's private /dev", (source, fstype) == ("devfs", "tmpfs"))


@pytest.mark.control("ESC-04")
@pytest.mark.outside
def test_guest_is_confined_by_a_mac_label(guest, target, evidence):
    models = confinement.security_models(target.conn)
    mac = confinement.mac_models(target.conn)
    evidence.check("libvirt security drivers (capabilities <secmodel>)", models,
                   "selinux or apparmor", bool(mac))
    label, enforcing = confinement.mac_label(guest.domain)
    evidence.check(f"{mac[0]} label of the running guest",
                   f"{label or 'none'} ({'enforcing' if enforcing else 'not enforcing'})",
                   "a per-VM label, enforcing",
                   confinement.label_confines(mac[0], label, enforcing))


@pytest.mark.control("ESC-06")
@pytest.mark.outside
def test_guest_memory_stays_out_of_host_core_dumps(qemu_process, evidence):
    setting = qemu_process.dump_guest_core
    evidence.check(f"QEMU pid {qemu_process.pid} -machine dump-guest-core",
                   setting or "unset (QEMU dumps guest memory)", "off", setting == "off")


@pytest.mark.control("ESC-06")
@pytest.mark.outside
def test_qemu_memory_is_capped_by_its_cgroup(qemu_process, evidence):
    cgroup, limit = qemu_process.memory_limit
    evidence.check(f"memory limit of QEMU pid {qemu_process.pid}'s cgroup {cgroup or '(none)'}",
                   f"{limit} bytes" if limit else "unlimited", "a finite limit (memtune "
                   "hard_limit applied by libvirt)", limit is not None)


@pytest.mark.control("ESC-07")
@pytest.mark.outside
def test_each_guest_runs_under_an_identity_of_its_own(guest, target, qemu_process, evidence):
    mac = confinement.mac_models(target.conn)
    label, enforcing = confinement.mac_label(guest.domain)
    if mac and confinement.label_confines(mac[0], label, enforcing):
        evidence.check(f"{mac[0]} label of the running guest", label,
                       "a per-VM label, enforcing", True)
        return
    default = confinement.dac_base_label(target.conn)
    default_uid = confinement.dac_ids(default)[0]
    uid = qemu_process.euid
    sharing = [f"pid {p.pid} ({p.guest_name})" for p in QemuProcess.every(target.hypervisor)
               if p.pid != qemu_process.pid and p.euid == uid]
    whose = f" (libvirt's default DAC label {default or 'root'}, every guest's that sets " \
            f"none)" if uid == default_uid else ""
    evidence.check(f"identity of QEMU pid {qemu_process.pid}, no per-VM MAC label confining it",
                   f"uid {uid} gid {qemu_process.egid}{whose}; other QEMU processes under uid "
                   f"{uid}: {', '.join(sharing) or 'none'}",
                   "a uid of its own: a per-VM DAC label (<seclabel model='dac'>) no other "
                   "guest runs under", uid != default_uid and not sharing)


@pytest.mark.control("ESC-08")
@pytest.mark.outside
def test_an_escaped_guest_cannot_reach_its_neighbour(guest, sibling, target, evidence):
    drill = EscapeDrill.run(target, attacker=guest, victim=sibling)
    evidence.note(f"identity of QEMU pid {drill.attacker.pid} taken by the drill's probe",
                  drill.identity, "QEMU's own: its mount namespace, cgroup, label, uid, gids "
                                  "and capabilities")
    evidence.note("positive twin: the same probe", drill.twin, "its own disk readable")
    for attempt in drill.attempts:
        evidence.record(f"escaped guest: {attempt.what}, {attempt.path}",
                        f"{'allowed' if attempt.allowed else 'refused'}: {attempt.how}",
                        "refused", not attempt.allowed)
    evidence.expect_none(f"what the neighbour (QEMU pid {drill.victim.pid}) and the host did not "
                         f"refuse", [f"{a.what} ({a.path})" for a in drill.attempts if a.allowed])


@pytest.mark.control("ESC-09")
@pytest.mark.outside
def test_a_stopped_guest_leaves_no_file_under_its_identity(target, template, base_image,
                                                           accelerator, inputs, evidence):
    files = stopped_guest_files(target, template, base_image, accelerator, inputs.allow_raw_qemu)
    evidence.note("files libvirt labelled for the paused guest's QEMU",
                  [f.describe() for f in files if f.relabelled and f.judged]
                  or "none: QEMU runs under the files' own owner and context",
                  "each given back at stop")
    evidence.note("the template's files libvirt left as they were",
                  [f.describe() for f in files if f.judged and not f.relabelled] or "none",
                  "their owner kept")
    evidence.note("vmiso's own files (its seed, its image cache's base image and kernel), "
                  "which libvirt labelled", [f.describe() for f in files
                                             if f.relabelled and not f.judged] or "none",
                  "noted, not judged: they are not the template's")
    evidence.expect_none("files left with the guest's owner or SELinux categories after "
                         "libvirt stopped it", [f.describe() for f in files if f.kept])


@pytest.mark.control("ESC-10")
@pytest.mark.outside
def test_confinement_holds_through_the_guests_lifecycle(target, template, base_image,
                                                        accelerator, inputs, evidence):
    walk = lifecycle(target, template, base_image, accelerator, inputs.allow_raw_qemu)
    evidence.note("the paused guest as it first ran (QEMU's uid:gid and labels, its files, "
                  "the filter binding of each filtered NIC)", walk.baseline.describe(),
                  "kept through every step")
    for step in walk.steps:
        evidence.note(f"lifecycle step: {step.name}", step.describe(),
                      "while QEMU runs: its identity, the files' labels and the filter "
                      "bindings as first; while it is stopped: every file given back")
    evidence.note("steps or parts of steps not done on this host",
                  [why for step in walk.steps for why in step.not_done] or "none",
                  "every step done; one not done is listed here, and the verdict rests on "
                  "the steps done alone (none done: error)")
    if not any(step.done for step in walk.steps):
        raise Undecided("no lifecycle step could be done on this host")
    evidence.expect_none("drift from the guest's first confinement, a file left under its "
                         "identity, or a save image others can read", walk.drifts)
