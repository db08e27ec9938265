"""The host's settings for every guest, read without one: what libvirt will start each guest's
QEMU under (its qemu.conf and security drivers), the cgroup controllers that bound it, and where
its console goes. The running guest's QEMU proves each in the other suites; these checks say what
the host promises before any guest runs, so `vmiso preflight` judges a host by them alone, and a
full run, which runs them beside the running QEMU's, shows that both agree.
"""

import pytest

from helpers.hostconfig import cgroupcontrollers, confinement, facts
from helpers.probes.coresidency import consolelog

BOUNDING_CONTROLLERS = ("cpu", "blkio")  # <cputune> quotas and shares, <blkiotune>


@pytest.mark.control("ESC-01")
@pytest.mark.outside
def test_libvirt_starts_qemu_as_an_unprivileged_user(target, qemu_conf, evidence):
    label = confinement.dac_base_label(target.conn)
    uid = confinement.dac_ids(label)[0]
    user = facts.user_name(target.hypervisor, uid) or "no user of the host"
    evidence.check("the user libvirt starts every guest's QEMU as (capabilities: DAC "
                   f"<baselabel>; {qemu_conf.describe('user')})",
                   f"{user} (uid {uid}, baselabel {label or 'none: no DAC driver'})",
                   "not root", uid != 0)


@pytest.mark.control("ESC-02")
@pytest.mark.outside
def test_libvirt_clears_qemu_capabilities(target, qemu_conf, evidence):
    as_root = confinement.dac_ids(confinement.dac_base_label(target.conn))[0] == 0
    cleared = qemu_conf.get("clear_emulator_capabilities") != "0"
    evidence.check(f"{qemu_conf.describe('clear_emulator_capabilities')}, QEMU started as "
                   f"{'root' if as_root else 'an unprivileged user'}",
                   "capabilities cleared" if cleared or not as_root else "root keeps them",
                   "no capability left to QEMU", cleared or not as_root)


@pytest.mark.control("ESC-03")
@pytest.mark.outside
def test_libvirt_starts_qemu_in_a_seccomp_sandbox(qemu_conf, evidence):
    setting = qemu_conf.get("seccomp_sandbox")
    evidence.check(qemu_conf.describe("seccomp_sandbox"), setting,
                   "1 (or unset): QEMU's -sandbox on, with its denials", setting != "0")


@pytest.mark.control("ESC-04")
@pytest.mark.outside
def test_libvirt_confines_qemu_with_a_mac_driver(target, qemu_conf, evidence):
    models = confinement.security_models(target.conn)
    evidence.note("security_driver", qemu_conf.describe("security_driver"),
                  "selinux or apparmor, or unset (the host's own)")
    evidence.check("libvirt security drivers (capabilities <secmodel>)", models,
                   "selinux or apparmor", bool(confinement.mac_models(target.conn)))


@pytest.mark.control("ESC-05")
@pytest.mark.outside
def test_libvirt_gives_qemu_a_private_dev(qemu_conf, evidence):
    namespaces = qemu_conf.get("namespaces")
    evidence.check(qemu_conf.describe("namespaces"), namespaces or "none",
                   "mount: a private mount namespace with libvirt's minimal /dev",
                   "mount" in namespaces)
    evidence.expect_none(f"host devices every guest's QEMU may open beyond libvirt's default "
                         f"({qemu_conf.describe('cgroup_device_acl')})",
                         qemu_conf.widened_device_acl)


@pytest.mark.control("ESC-06")
@pytest.mark.outside
def test_host_keeps_guest_memory_out_of_dumps_and_can_cap_it(target, qemu_conf, evidence):
    dump = qemu_conf.get("dump_guest_core")
    evidence.check(qemu_conf.describe("dump_guest_core"), dump,
                   "0 (or unset): guest memory left out of QEMU's core dumps", dump != "1")
    controllers = cgroupcontrollers.usable(target.hypervisor)
    evidence.check(f"the memory cgroup controller ({cgroupcontrollers.CGROUPS}, mounted)",
                   "usable" if "memory" in controllers else "absent",
                   "usable: libvirt applies <memtune> limits through it",
                   "memory" in controllers)
    whose = f"libvirtd pid {target.daemon_pid}" if target.daemon_pid else \
        "the SSH session (libvirtd's process was not found)"
    can_limit = confinement.can_raise_resource_limits(target.hypervisor, target.daemon_pid)
    evidence.check(f"CAP_SYS_RESOURCE of {whose}, which libvirt needs to set QEMU's memory "
                   f"limits", "held" if can_limit else "not held", "held", can_limit)


@pytest.mark.control("DEV-07")
@pytest.mark.outside
def test_host_can_bound_guest_cpu_io_and_console(target, qemu_conf, virtlogd_conf, evidence):
    controllers = cgroupcontrollers.usable(target.hypervisor)
    evidence.note(f"cgroup controllers enabled and mounted ({cgroupcontrollers.CGROUPS})",
                  sorted(controllers), ", ".join(cgroupcontrollers.LIBVIRT_CONTROLLERS))
    allowed = qemu_conf.get("cgroup_controllers")
    evidence.note(qemu_conf.describe("cgroup_controllers"), "the controllers libvirt may use",
                  ", ".join(BOUNDING_CONTROLLERS) + " among them")
    evidence.expect_none("cgroup controllers that bound a guest's CPU and disk I/O, missing on "
                         "the host or left out of qemu.conf's cgroup_controllers",
                         [c for c in BOUNDING_CONTROLLERS
                          if c not in controllers or c not in allowed])
    handler = qemu_conf.get("stdio_handler")
    evidence.check(qemu_conf.describe("stdio_handler"), handler,
                   "logd (or unset): QEMU's outputs go through virtlogd", handler != "file")
    path, settings = virtlogd_conf
    rollover = consolelog.rollover(settings)
    evidence.check(f"max_size in {path}", f"{rollover} bytes" if rollover else "0 (never rotated)",
                   "a size: virtlogd rotates each log there", rollover > 0)
