"""Distribution builds: OSV ecosystem names and Debian versions read from what hosts report."""

import json

import pytest

from helpers.patches import distro, osv
from helpers.patches.distro import Build
from helpers.patches.versions import Version, judge_build, load_policies

DEBIAN_12 = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'


@pytest.mark.parametrize("text, expected", [
    (DEBIAN_12, "Debian:12"),
    ('ID=ubuntu\nVERSION_ID="24.04"\n', None),
    ("ID=debian\n", None),
    ("", None),
])
def test_ecosystem_from_os_release(text, expected):
    assert distro.ecosystem(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)", "1:7.2+dfsg-7+deb12u18"),
    ("Debian 1:7.2+dfsg-7+deb12u18", "1:7.2+dfsg-7+deb12u18"),
    ("#1 SMP PREEMPT_DYNAMIC Debian 6.1.158-1 (2025-11-02)", "6.1.158-1"),
    ("#1 SMP PREEMPT_DYNAMIC @0", None),
    ("v9.2.0", None),
])
def test_debian_build_from_version_strings(text, expected):
    assert distro.debian_build(text) == expected


def record(package, fixed, cve="CVE-2023-2861"):
    return {"id": f"DEBIAN-{cve}", "aliases": [cve], "modified": "2026-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "Debian:12", "name": package},
                          "ranges": [{"type": "ECOSYSTEM",
                                      "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]}


@pytest.fixture
def records(tmp_path):
    (tmp_path / "qemu.json").write_text(json.dumps([record("qemu", "1:7.2+dfsg-7+deb12u1")]))
    return osv.load(tmp_path)


POLICY = load_policies("policies/default.toml").qemu
V = Version.parse("7.2.0")


def test_open_record_with_its_device_present_fails(records):
    build = Build("Debian:12", "qemu", "1:7.2+dfsg-7")
    judgement = judge_build(V, build, {"virtio-9p-pci"}, POLICY, records)
    assert judgement.status == "fail"
    assert "fixed in 1:7.2+dfsg-7+deb12u1" in judgement.reasons[0]


def test_open_record_with_its_device_absent_is_mitigated(records):
    judgement = judge_build(V, Build("Debian:12", "qemu", "1:7.2+dfsg-7"), {"virtio-blk-pci"},
                            POLICY, records)
    assert judgement.status == "mitigated"


def test_a_backported_fix_passes_although_upstream_7_2_0_lacks_it(records):
    """Upstream 7.2.0 predates the 9p fix; the distribution build carries it."""
    build = Build("Debian:12", "qemu", "1:7.2+dfsg-7+deb12u1")
    assert judge_build(V, build, {"virtio-9p-pci"}, POLICY, records).status == "pass"
    assert judge_build(V, None, {"virtio-9p-pci"}, POLICY, records).status == "fail"


def test_uncovered_package_falls_back_to_upstream_with_a_note(records):
    build = Build("Debian:12", "libvirt", "9.0.0-4")
    judgement = judge_build(Version.parse("9.0.0"), build, set(),
                            load_policies("policies/default.toml").libvirt, records, "libvirt")
    assert judgement.status == "pass"
    assert "no OSV record covers libvirt in Debian:12" in judgement.basis


def test_floor_still_applies_to_a_covered_build(records):
    build = Build("Debian:12", "qemu", "1:7.2+dfsg-7+deb12u1")
    leaky = load_policies("policies/leaky.toml").qemu
    assert judge_build(V, build, set(), leaky, records).status == "fail"
