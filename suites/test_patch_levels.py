"""Risk 6, patch levels: the running hypervisor is not one a known escape works against.

Distribution builds (Debian and Ubuntu read with dpkg-query, the Red Hat family with rpm -q) are
judged by the OSV records of --osv where they cover the build, with the distribution's own triage:
an unfixed CVE it rates unimportant or chose not to fix is reported, not failed (policy
[patches]). The policy's floors and upstream fix versions decide otherwise, and the evidence says
which.

Installed packages are judged the same way, by source package: the guest's whole set (PAT-06)
and the host's virtualization packages (PAT-07, packages.VIRTUALIZATION), each against the OSV
records of its own distribution, with the policy's [packages] floors."""

import pytest

from helpers.host import qmp
from helpers.hostconfig import facts
from helpers.patches import distro, packages
from helpers.patches.versions import Version, judge_build
from helpers.verdict.undecided import Undecided
from helpers.vm import probes


def record(evidence, what, judgement, expected):
    evidence.note("what the CVEs were judged by", judgement.basis, "distribution data, or a note")
    if judgement.accepted:
        evidence.note(f"open CVEs without a fix that the distribution's triage and the policy "
                      f"accept ({len(judgement.accepted)})", "; ".join(judgement.accepted),
                      "reported, not failed: rated unimportant or not to be fixed")
    observed = "; ".join(judgement.reasons) or "at or above floor, no open CVE"
    if judgement.status == "mitigated":
        evidence.mitigated(what, observed, expected)
    else:
        evidence.check(what, observed, expected, judgement.status == "pass")


@pytest.mark.control("PAT-01")
@pytest.mark.outside
def test_qemu_meets_policy(guest, target, host_distribution, policy, osv_records, evidence):
    reply = qmp.qmp(guest.domain, "query-version")
    version = Version.parse("{major}.{minor}.{micro}".format(**reply["qemu"]))
    package = reply.get("package", "").strip() or "no package string"
    build = host_build(target, host_distribution, "qemu")
    judgement = judge_build(version, build, host_distribution, guest.qemu_devices, policy.qemu,
                            osv_records, policy.patches)
    record(evidence, f"QEMU {version} (QMP: {package}; installed: {_build(build)}) on "
           f"{host_distribution or 'an unknown distribution'} against floor "
           f"{policy.qemu.floor}", judgement,
           "at or above floor, no open CVE with its device present")


@pytest.mark.control("PAT-02")
@pytest.mark.outside
def test_libvirt_meets_policy(target, host_distribution, policy, osv_records, evidence):
    version = Version.parse(target.libvirt_version)
    build = host_build(target, host_distribution, "libvirt")
    judgement = judge_build(version, build, host_distribution, set(), policy.libvirt,
                            osv_records, policy.patches, name="libvirt")
    record(evidence, f"libvirt {version} ({_build(build)}) at {target.uri} on "
           f"{host_distribution or 'an unknown distribution'} against floor "
           f"{policy.libvirt.floor}", judgement, "at or above floor, no open CVE")


@pytest.mark.control("PAT-03")
@pytest.mark.outside
def test_host_kernel_meets_policy_with_cpu_mitigations_on(target, host_distribution, policy,
                                                          osv_records, evidence):
    release, version = facts.kernel(target.hypervisor)
    build = host_distribution.kernel_build(release, version) if host_distribution else None
    judgement = judge_build(Version.parse(release), build, host_distribution, set(),
                            policy.host_kernel, osv_records, policy.patches, name="host kernel")
    record(evidence, f"host kernel {release} ({version}) on "
           f"{host_distribution or 'an unknown distribution'} against floor "
           f"{policy.host_kernel.floor}", judgement, "at or above floor, no open CVE")
    states = facts.cpu_vulnerabilities(target.hypervisor)
    if not states:
        raise Undecided(f"{facts.VULNERABILITIES} is missing: the host kernel does "
                        f"not report its CPU vulnerability mitigations")
    unreported = facts.unreported(states, policy.cpu.reported)
    evidence.record(f"CPU vulnerabilities the policy requires the host kernel to report "
                    f"([cpu_vulnerabilities] reported: {', '.join(policy.cpu.reported) or 'none'})"
                    f" that it does not: it predates their mitigation", unreported or "none",
                    "none", not unreported)
    evidence.expect_none(f"CPU vulnerabilities the host kernel reports unmitigated "
                         f"({len(states)} listed) or does not report",
                         facts.unmitigated(states) + [f"{name}: not reported"
                                                      for name in unreported])


@pytest.mark.control("PAT-04")
@pytest.mark.inside
def test_guest_kernel_meets_policy(guest, policy, osv_records, evidence):
    release = probes.kernel_release(guest)
    version_text, os_release = probes.kernel_build(guest)
    dist = distro.distribution(os_release)
    build = dist.kernel_build(release, version_text) if dist else None
    judgement = judge_build(Version.parse(release), build, dist, set(), policy.guest_kernel,
                            osv_records, policy.patches, name="guest kernel")
    record(evidence, f"guest kernel {release} ({version_text}) on "
           f"{dist or 'an unknown distribution'} against floor {policy.guest_kernel.floor}",
           judgement, "at or above floor, no open CVE")


def host_build(target, dist, component):
    return distro.installed_build(target.hypervisor, dist, component) if dist else None


def _build(build):
    return f"{build.package} {build.version}" if build else "build unknown"


@pytest.mark.control("PAT-05")
@pytest.mark.outside
def test_running_qemu_is_the_installed_binary(qemu_process, guest, evidence):
    exe = qemu_process.exe
    emulator = guest.live.emulator
    evidence.check(f"binary of QEMU pid {qemu_process.pid} (/proc/PID/exe) against the "
                   f"domain's emulator {emulator}", exe, f"{emulator}, not deleted",
                   exe == emulator)


LISTED_BY = {"dpkg": "dpkg-query -W", "rpm": "rpm -qa",
             "manifest": f"the probe image's manifest {packages.MANIFEST}: the Debian packages "
                         f"it was built from"}
NO_OPEN_FIX = "no open CVE but unfixed ones the triage policy accepts; none below a " \
              "policy floor"


@pytest.mark.control("PAT-06")
@pytest.mark.inside
def test_guest_packages_have_no_open_cve(guest, policy, osv_records, evidence):
    listing = probes.installed_packages(guest)
    dist = distro.distribution(probes.os_release(guest))
    found = packages.sources(listing.packages, listing.manager)
    judgement = _judge(found, dist, osv_records, policy.packages.guest_floor, policy.patches,
                       "guest's packages")
    record(evidence, f"the guest's {len(listing.packages)} installed packages "
           f"({LISTED_BY[listing.manager]}) on {dist}", judgement, NO_OPEN_FIX)


@pytest.mark.control("PAT-07")
@pytest.mark.outside
def test_host_virtualization_packages_have_no_open_cve(target, host_distribution, policy,
                                                       osv_records, evidence):
    if host_distribution is None:
        raise Undecided("the host's /etc/os-release is unreadable or names a distribution vmiso "
                        "has no OSV records for: its packages cannot be judged")
    try:
        listing = packages.host_listing(target.hypervisor, host_distribution)
    except packages.PackagesError as err:
        raise Undecided(f"the host's packages: {err}") from None
    chosen = packages.virtualization(listing.packages)
    if not chosen:
        raise Undecided(f"{LISTED_BY[listing.manager]} on the host lists none of the "
                        f"virtualization packages ({len(listing.packages)} installed): libvirt "
                        f"and QEMU were not installed from {host_distribution}'s packages, "
                        f"which its feed cannot judge")
    found = packages.sources(chosen, listing.manager)
    judgement = _judge(found, host_distribution, osv_records, policy.packages.host_floor,
                       policy.patches, "host's virtualization packages")
    record(evidence, f"the host's {len(chosen)} virtualization packages "
           f"({LISTED_BY[listing.manager]}: {', '.join(s.names[0] for s in found)}) on "
           f"{host_distribution}", judgement, NO_OPEN_FIX)


def _judge(found, dist, osv, floors, accepted_by, what):
    try:
        return packages.judge_packages(found, dist, osv, floors, accepted_by, what)
    except packages.PackagesError as err:
        raise Undecided(str(err)) from None
