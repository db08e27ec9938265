"""Risk 6, patch levels: the running hypervisor is not one a known escape works against.

Distribution builds are judged by the OSV records of --osv where they cover the build; the
policy's floors and upstream fix versions decide otherwise, and the evidence says which."""

import pytest

from helpers.host import facts, qmp
from helpers.patches import distro
from helpers.patches.distro import Build
from helpers.patches.versions import Version, judge_build
from helpers.verdict.undecided import Undecided
from helpers.vm import probes


def record(evidence, what, judgement, expected):
    evidence.note("what the CVEs were judged by", judgement.basis, "distribution data, or a note")
    observed = "; ".join(judgement.reasons) or "at or above floor, no open CVE"
    if judgement.status == "mitigated":
        evidence.mitigated(what, observed, expected)
    else:
        evidence.check(what, observed, expected, judgement.status == "pass")


@pytest.mark.control("PAT-01")
@pytest.mark.outside
def test_qemu_meets_policy(guest, target, policy, osv_records, evidence):
    reply = qmp.qmp(guest.domain, "query-version")
    version = Version.parse("{major}.{minor}.{micro}".format(**reply["qemu"]))
    package = (reply.get("package", "").strip() or facts.qemu_package(target.hypervisor)
               or "unknown")
    build = distro.host_build(target, "qemu", distro.debian_build(package))
    judgement = judge_build(version, build, guest.qemu_devices, policy.qemu, osv_records)
    record(evidence, f"QEMU {version} ({package}) against floor {policy.qemu.floor}",
           judgement, "at or above floor, no open CVE with its device present")


@pytest.mark.control("PAT-02")
@pytest.mark.outside
def test_libvirt_meets_policy(target, policy, osv_records, evidence):
    version = Version.parse(target.libvirt_version)
    installed = distro.installed_version(target.hypervisor, "libvirt-daemon")
    build = distro.host_build(target, "libvirt", installed)
    judgement = judge_build(version, build, set(), policy.libvirt, osv_records, name="libvirt")
    record(evidence, f"libvirt {version} ({installed or 'build unknown'}) at {target.uri} "
           f"against floor {policy.libvirt.floor}", judgement, "at or above floor, no open CVE")


@pytest.mark.control("PAT-03")
@pytest.mark.outside
def test_host_kernel_meets_policy_with_cpu_mitigations_on(target, policy, osv_records,
                                                          evidence):
    release, version = facts.kernel(target.hypervisor)
    build = distro.host_build(target, "linux", distro.debian_build(version))
    judgement = judge_build(Version.parse(release), build, set(), policy.host_kernel,
                            osv_records, name="host kernel")
    record(evidence, f"host kernel {release} ({version}) against floor "
           f"{policy.host_kernel.floor}", judgement, "at or above floor, no open CVE")
    states = facts.cpu_vulnerabilities(target.hypervisor)
    if not states:
        raise Undecided(f"{facts.VULNERABILITIES} is missing: the host kernel does "
                        f"not report its CPU vulnerability mitigations")
    evidence.expect_none(f"CPU vulnerabilities the host kernel reports unmitigated "
                         f"({len(states)} listed)", facts.unmitigated(states))


@pytest.mark.control("PAT-04")
@pytest.mark.inside
def test_guest_kernel_meets_policy(guest, policy, osv_records, evidence):
    release = probes.kernel_release(guest)
    version_text, os_release = probes.kernel_build(guest)
    build = Build(distro.ecosystem(os_release), "linux", distro.debian_build(version_text)) \
        if distro.debian_build(version_text) else None
    judgement = judge_build(Version.parse(release), build, set(), policy.guest_kernel,
                            osv_records, name="guest kernel")
    record(evidence, f"guest kernel {release} ({version_text}) against floor "
           f"{policy.guest_kernel.floor}", judgement, "at or above floor, no open CVE")


@pytest.mark.control("PAT-05")
@pytest.mark.outside
def test_running_qemu_is_the_installed_binary(qemu_process, guest, evidence):
    exe = qemu_process.exe
    emulator = guest.live.emulator
    evidence.check(f"binary of QEMU pid {qemu_process.pid} (/proc/PID/exe) against the "
                   f"domain's emulator {emulator}", exe, f"{emulator}, not deleted",
                   exe == emulator)
