"""Distributions read from os-release, their builds read from what hosts report, and the
judgement of a build by its distribution's OSV records and triage."""

import json
import zipfile

import pytest

from helpers.patches import distro, osv, triage
from helpers.patches.distro import Build
from helpers.patches.versions import Version, judge_build
from helpers.policy import policyfile

DEBIAN_12 = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
UBUNTU_2204 = ('PRETTY_NAME="Ubuntu 22.04.4 LTS"\nID=ubuntu\nID_LIKE=debian\n'
               'VERSION_ID="22.04"\nVERSION="22.04.4 LTS (Jammy Jellyfish)"\n')
ROCKY_9 = 'NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\n' \
          'PRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"\n'
RHEL_9 = 'ID="rhel"\nVERSION_ID="9.4"\nPRETTY_NAME="Red Hat Enterprise Linux 9.4 (Plow)"\n'
ALMA_9 = 'ID="almalinux"\nVERSION_ID="9.4"\nPRETTY_NAME="AlmaLinux 9.4 (Seafoam Ocelot)"\n'


@pytest.mark.parametrize("text, yes, no", [
    (DEBIAN_12, ["Debian:12"], ["Debian:11", "Debian", "Ubuntu:12"]),
    (UBUNTU_2204, ["Ubuntu:22.04:LTS", "Ubuntu:22.04"], ["Ubuntu:Pro:22.04:LTS", "Debian:12"]),
    (ROCKY_9, ["Rocky Linux:9"], ["Rocky Linux:8", "AlmaLinux:9"]),
    (ALMA_9, ["AlmaLinux:9"], ["Rocky Linux:9"]),
    (RHEL_9, ["Red Hat:enterprise_linux:9::appstream", "Red Hat:enterprise_linux:9::baseos"],
     ["Red Hat:enterprise_linux:8::appstream", "Red Hat:rhel_eus:9.2::appstream"]),
])
def test_a_release_matches_its_own_ecosystems(text, yes, no):
    dist = distro.distribution(text)
    assert all(dist.matches(e) for e in yes) and not any(dist.matches(e) for e in no)


@pytest.mark.parametrize("text", ['ID=arch\n', "ID=debian\n", "", 'ID=fedora\nVERSION_ID=40\n'])
def test_unknown_distributions_are_none(text):
    assert distro.distribution(text) is None


def test_names_and_families():
    dist = distro.distribution(ROCKY_9)
    assert (str(dist), dist.major, dist.family.manager) == ("Rocky Linux 9.4 (Blue Onyx)", "9",
                                                            "rpm")
    assert distro.distribution(UBUNTU_2204).lts and distro.distribution(DEBIAN_12).names(
        "qemu") == ("qemu",)


@pytest.mark.parametrize("text, release, version, expected", [
    (DEBIAN_12, "6.1.0-41-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.158-1 (2025-11-02)",
     "6.1.158-1"),
    (DEBIAN_12, "6.1.0-41-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.158-1+b1", "6.1.158-1"),
    (DEBIAN_12, "6.1.0-41-amd64", "#1 SMP PREEMPT_DYNAMIC @0", None),
    (UBUNTU_2204, "5.15.0-91-generic", "#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023",
     "5.15.0-91.101"),
    (UBUNTU_2204, "6.5.0-18-generic", "#18~22.04.1-Ubuntu SMP PREEMPT_DYNAMIC",
     "6.5.0-18.18~22.04.1"),
    (ROCKY_9, "5.14.0-427.13.1.el9_4.x86_64", "#1 SMP PREEMPT_DYNAMIC Wed May 1 2024",
     "5.14.0-427.13.1.el9_4"),
    (ROCKY_9, "6.1.0-41-amd64", "#1 SMP Debian 6.1.158-1", None),
])
def test_kernel_builds_from_uname(text, release, version, expected):
    build = distro.distribution(text).kernel_build(release, version)
    assert (build.version if build else None) == expected


def record(package, fixed, cve="CVE-2023-2861", ecosystem="Debian:12", prefix="DEBIAN-",
           **affected_extra):
    events = [{"introduced": "0"}] + ([{"fixed": fixed}] if fixed else [])
    return {"id": f"{prefix}{cve}", "upstream": [cve], "modified": "2026-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": ecosystem, "name": package},
                          "ranges": [{"type": "ECOSYSTEM", "events": events}],
                          **affected_extra}]}


@pytest.fixture
def records(tmp_path):
    (tmp_path / "qemu.json").write_text(json.dumps([record("qemu", "1:7.2+dfsg-7+deb12u1")]))
    return osv.load(tmp_path)


DEBIAN = distro.distribution(DEBIAN_12)
POLICIES = policyfile.read(policyfile.DEFAULT)
POLICY = POLICIES.qemu
ACCEPT = POLICIES.patches
V = Version.parse("7.2.0")


def qemu(version):
    return Build(("qemu",), version, "dpkg-query qemu-system-x86")


def judge(version, records, devices=frozenset(), build=None, dist=DEBIAN, policy=POLICY,
          name="QEMU"):
    return judge_build(version, build, dist, set(devices), policy, records, ACCEPT, name)


def test_open_record_with_its_device_present_fails(records):
    judgement = judge(V, records, {"virtio-9p-pci"}, qemu("1:7.2+dfsg-7"))
    assert judgement.status == "fail"
    assert "fixed in 1:7.2+dfsg-7+deb12u1" in judgement.reasons[0]


def test_open_record_with_its_device_absent_is_mitigated(records):
    assert judge(V, records, {"virtio-blk-pci"}, qemu("1:7.2+dfsg-7")).status == "mitigated"


def test_a_backported_fix_passes_although_upstream_7_2_0_lacks_it(records):
    """Upstream 7.2.0 predates the 9p fix; the distribution build carries it."""
    assert judge(V, records, {"virtio-9p-pci"}, qemu("1:7.2+dfsg-7+deb12u1")).status == "pass"
    assert judge(V, records, {"virtio-9p-pci"}, None).status == "fail"


def test_uncovered_package_falls_back_to_upstream_with_a_note(records):
    build = Build(("libvirt",), "9.0.0-4", "dpkg-query libvirt-daemon")
    judgement = judge(Version.parse("9.0.0"), records, set(), build, policy=POLICIES.libvirt,
                      name="libvirt")
    assert judgement.status == "pass"
    assert "no OSV record covers libvirt in Debian GNU/Linux 12 (bookworm)" in judgement.basis


def test_floor_still_applies_to_a_covered_build(records):
    leaky = policyfile.read(policyfile.POLICIES / "leaky.toml").qemu
    assert judge(V, records, set(), qemu("1:7.2+dfsg-7+deb12u1"), policy=leaky).status == "fail"


@pytest.mark.parametrize("extra, accepted", [
    ({"ecosystem_specific": {"urgency": "unimportant"}}, "rated unimportant"),
    ({"ecosystem_specific": {"urgency": "low", "nodsa": "Minor issue",
                             "nodsa_reason": "postponed"}}, "status postponed"),
    ({"ecosystem_specific": {"urgency": "low**", "status": "<no-dsa>"}}, "status no-dsa"),
    ({"ecosystem_specific": {"urgency": "medium", "status": "<ignored>"}}, "status ignored"),
    ({"database_specific": {"severity": "Moderate", "status": "Will not fix"}},
     "status will not fix"),
    ({"ecosystem_specific": {"urgency": "high"}}, None),
    ({}, None),
])
def test_unfixed_findings_are_judged_by_the_distributions_triage(tmp_path, extra, accepted):
    (tmp_path / "r.json").write_text(json.dumps(record("linux", None, **extra)))
    build = Build(("linux",), "6.1.158-1", "uname")
    judgement = judge(Version.parse("6.1.0"), osv.load(tmp_path), set(), build,
                      policy=POLICIES.host_kernel, name="host kernel")
    if accepted:
        assert judgement.status == "pass" and not judgement.reasons
        assert judgement.accepted == [f"DEBIAN-CVE-2023-2861 (CVE-2023-2861) ({accepted}, "
                                      f"no fix)"]
    else:
        assert judgement.status == "fail" and "no fix yet" in judgement.reasons[0]


def test_a_fix_the_host_lacks_fails_whatever_the_triage(tmp_path):
    (tmp_path / "r.json").write_text(json.dumps(record(
        "linux", "6.1.159-1", ecosystem_specific={"urgency": "unimportant"})))
    build = Build(("linux",), "6.1.158-1", "uname")
    judgement = judge(Version.parse("6.1.0"), osv.load(tmp_path), set(), build,
                      policy=POLICIES.host_kernel)
    assert judgement.status == "fail"
    assert judgement.reasons == ["DEBIAN-CVE-2023-2861 (CVE-2023-2861) open in QEMU 6.1.158-1, "
                                 "fixed in 6.1.159-1 (rated unimportant)"]


def test_ubuntu_priorities_from_severity_scores(tmp_path):
    raw = record("linux", None, ecosystem="Ubuntu:22.04:LTS", prefix="UBUNTU-")
    raw["severity"] = [{"type": "Ubuntu", "score": "negligible"}]
    (tmp_path / "r.json").write_text(json.dumps(raw))
    dist = distro.distribution(UBUNTU_2204)
    judgement = judge(Version.parse("6.1.0"), osv.load(tmp_path), set(),
                      Build(("linux",), "5.15.0-91.101", "uname"), dist=dist,
                      policy=POLICIES.host_kernel)
    assert judgement.status == "pass" and "rated negligible" in judgement.accepted[0]


def test_rocky_builds_in_rpm_order_from_a_zip(tmp_path):
    with zipfile.ZipFile(tmp_path / "all.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        raw = record("qemu-kvm", "17:8.2.0-11.el9_4.1", ecosystem="Rocky Linux:9",
                     prefix="RLSA-2024:", cve="CVE-2024-4467")
        raw["id"] = "RLSA-2024:4420"
        archive.writestr("RLSA-2024:4420.json", json.dumps(raw))
    records = osv.load(tmp_path / "all.zip")
    dist = distro.distribution(ROCKY_9)
    build = Build(("qemu-kvm", "qemu-kvm-core"), "17:8.2.0-11.el9_4", "rpm -q qemu-kvm-core")
    judgement = judge(Version.parse("8.2.0"), records, set(), build, dist=dist)
    assert judgement.status == "fail"
    assert "RLSA-2024:4420 (CVE-2024-4467) open in QEMU 17:8.2.0-11.el9_4, fixed in " \
           "17:8.2.0-11.el9_4.1" in judgement.reasons[0]
    fixed = Build(build.packages, "17:8.2.0-11.el9_4.1", build.source)
    assert judge(Version.parse("8.2.0"), records, set(), fixed, dist=dist).status == "pass"


def test_feed_age_warning():
    import datetime
    policy = triage.TriagePolicy(feed_max_age_days=7)
    now = datetime.datetime(2026, 11, 30, tzinfo=datetime.timezone.utc)
    assert policy.feed_age_warning(now - datetime.timedelta(days=7), now) is None
    warning = policy.feed_age_warning(now - datetime.timedelta(days=30), now)
    assert "30 days old" in warning and "vmiso osv-update" in warning
    assert "age is unknown" in policy.feed_age_warning(None, now)
