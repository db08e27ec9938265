"""Risk 6, patch levels: the running hypervisor is not one a known escape works against."""

import platform

import pytest

from helpers import hostinfo, probes, qmp
from helpers.versions import Version, judge


@pytest.mark.control("PAT-02")
@pytest.mark.outside
def test_libvirt_meets_policy(target, policy, evidence):
    version = Version.parse(target.libvirt_version)
    judgement = judge(version, set(), policy.libvirt, name="libvirt")
    evidence.check(f"libvirt {version} at {target.uri} against floor {policy.libvirt.floor} and "
                   f"{len(policy.libvirt.cves)} CVEs",
                   "; ".join(judgement.reasons) or "all listed fixes present",
                   "at or above floor, no open CVE", judgement.status == "pass")


@pytest.mark.control("PAT-01")
@pytest.mark.outside
def test_qemu_meets_policy(guest, policy, evidence):
    reply = qmp.qmp(guest.domain, "query-version")
    version = Version.parse("{major}.{minor}.{micro}".format(**reply["qemu"]))
    build = reply.get("package", "").strip() or hostinfo.qemu_package() or "unknown"
    judgement = judge(version, guest.qemu_devices, policy.qemu)
    what = (f"QEMU {version} ({build}) against floor {policy.qemu.floor} and "
            f"{len(policy.qemu.cves)} CVEs")
    observed = "; ".join(judgement.reasons) or "all listed fixes present"
    if judgement.status == "mitigated":
        evidence.mitigated(what, observed, "no open CVE with its device present")
    else:
        evidence.check(what, observed, "at or above floor, no open CVE with its device present",
                       judgement.status == "pass")


@pytest.mark.control("PAT-04")
@pytest.mark.inside
def test_guest_kernel_meets_policy(guest, policy, evidence):
    release = probes.kernel_release(guest)
    judgement = judge(Version.parse(release), set(), policy.guest_kernel, name="guest kernel")
    evidence.check(f"guest kernel {release} (uname -r) against floor {policy.guest_kernel.floor}",
                   "; ".join(judgement.reasons) or "at or above floor", "at or above floor",
                   judgement.status == "pass")


@pytest.mark.control("PAT-03")
@pytest.mark.outside
def test_host_kernel_meets_policy_with_cpu_mitigations_on(host_files, policy, evidence):
    release = platform.release()
    judgement = judge(Version.parse(release), set(), policy.host_kernel, name="host kernel")
    evidence.check(f"host kernel {release} against floor {policy.host_kernel.floor}",
                   "; ".join(judgement.reasons) or "at or above floor", "at or above floor",
                   judgement.status == "pass")
    states = hostinfo.cpu_vulnerabilities()
    if not states:
        raise FileNotFoundError(f"{hostinfo.VULNERABILITIES} is missing: the host kernel does "
                                f"not report its CPU vulnerability mitigations")
    evidence.expect_none(f"CPU vulnerabilities the host kernel reports unmitigated "
                         f"({len(states)} listed)", hostinfo.unmitigated(states))


@pytest.mark.control("PAT-05")
@pytest.mark.outside
def test_running_qemu_is_the_installed_binary(qemu_process, guest, evidence):
    exe = qemu_process.exe
    emulator = guest.live.emulator
    evidence.check(f"binary of QEMU pid {qemu_process.pid} (/proc/PID/exe) against the "
                   f"domain's emulator {emulator}", exe, f"{emulator}, not deleted",
                   exe == emulator)
