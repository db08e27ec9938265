"""Installed packages (a guest's, PAT-06; the host's virtualization set, PAT-07) listed, grouped
by source package and judged by their distribution's OSV records, triage and the policy's
floors."""

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.patches import distro, osv, packages
from helpers.patches.feed import Feed
from helpers.patches.feed import _record as feed_record
from helpers.patches.packages import Installed, PackagesError, Source
from helpers.policy import policyfile
from tests.unit.test_distro import DEBIAN_12, ROCKY_9, record

DEBIAN = distro.distribution(DEBIAN_12)
ACCEPT = policyfile.read(policyfile.DEFAULT).patches
DPKG = "\n".join([
    "+ dpkg",
    "ii \tlibvirt0\t9.0.0-4+deb12u1\tlibvirt\t9.0.0-4+deb12u1\t",
    "ii \tlibvirt-clients\t9.0.0-4+deb12u1\tlibvirt\t9.0.0-4+deb12u1\t",
    "rc \tlibvirt-daemon\t9.0.0-3\tlibvirt\t9.0.0-3\t",
    "ii \tqemu-utils\t1:7.2+dfsg-7+deb12u18+b3\tqemu\t1:7.2+dfsg-7+deb12u18\t",
    "ii \tlinux-image-6.1.0-57-amd64\t6.1.192-3\tlinux-signed-amd64\t6.1.192+3\t"
    "linux (= 6.1.192-3)",
    "ii \tbash\t5.2.15-2+b8\tbash\t5.2.15-2+b8\t",
    "ii \tvirtinst\t1:4.1.0-2\tvirt-manager\t1:4.1.0-2\t", ""])


def feed(tmp_path, *raws):
    (tmp_path / "feed.json").write_text(json.dumps(list(raws)))
    return osv.load(tmp_path)


def listed_sources(text=DPKG):
    listing = packages.parse_listing(text)
    return packages.sources(listing.packages, listing.manager)


def test_dpkg_listing_keeps_installed_packages_with_their_source():
    listing = packages.parse_listing(DPKG)
    assert listing.manager == "dpkg"
    names = [p.name for p in listing.packages]
    assert "libvirt-daemon" not in names and len(names) == 6  # removed, config kept (rc)
    kernel = next(p for p in listing.packages if p.name.startswith("linux-image"))
    assert kernel.built_using == (("linux", "6.1.192-3"),)


def test_packages_group_by_source_and_signing_templates_by_what_they_sign():
    found = {s.names[0]: s for s in listed_sources()}
    assert found["libvirt"] == Source(("libvirt",), "9.0.0-4+deb12u1",
                                      ("libvirt-clients", "libvirt0"))
    assert found["linux"].version == "6.1.192-3" and "linux-signed-amd64" not in found
    assert found["qemu"].version == "1:7.2+dfsg-7+deb12u18"


def test_rpm_listing_asks_by_binary_and_source_rpm_names():
    text = ("+ rpm\nlibvirt-daemon\t9.0.0-10.el9\tlibvirt-9.0.0-10.el9.src.rpm\n"
            "qemu-img\t17:8.2.0-11.el9_4\tqemu-kvm-8.2.0-11.el9_4.src.rpm\n"
            "gpg-pubkey\t8483c65d-5ccc5b19\t(none)\n")
    listing = packages.parse_listing(text)
    found = {s.names[0]: s for s in packages.sources(listing.packages, listing.manager)}
    assert found["qemu-kvm"].names == ("qemu-kvm", "qemu-img")
    assert found["gpg-pubkey"].names == ("gpg-pubkey",)


@pytest.mark.parametrize("text, words", [
    ("+ none\n", "neither dpkg-query nor rpm"),
    ("sh: dpkg-query: not found\n", "began with"),
    ("+ dpkg\n", "lists no installed package"),
    ("+ dpkg\nii \tbash\t5.2\n", "not the six fields"),
    ("+ rpm\nbash 5.2\n", "not the three fields"),
])
def test_listings_vmiso_cannot_read_are_errors(text, words):
    with pytest.raises(PackagesError, match=words):
        packages.parse_listing(text)


def test_the_virtualization_set_leaves_other_packages_out():
    listing = packages.parse_listing(DPKG)
    chosen = {p.name for p in packages.virtualization(listing.packages)}
    assert chosen == {"libvirt0", "libvirt-clients", "qemu-utils", "virtinst"}


def test_a_fix_the_packages_lack_fails_with_the_binaries_named(tmp_path):
    records = feed(tmp_path, record("libvirt", "9.0.0-4+deb12u2", cve="CVE-2024-2494"))
    judgement = packages.judge_packages(listed_sources(), DEBIAN, records, {}, ACCEPT)
    assert judgement.status == "fail"
    assert judgement.reasons == ["libvirt 9.0.0-4+deb12u1 (libvirt-clients, libvirt0): 1 open: "
                                 "DEBIAN-CVE-2024-2494 (CVE-2024-2494) (fixed in "
                                 "9.0.0-4+deb12u2)"]
    assert "1 named by a record, 4 by none" in judgement.basis


def test_unfixed_findings_the_triage_accepts_are_reported_not_failed(tmp_path):
    records = feed(tmp_path, record("linux", None, cve="CVE-2024-1",
                                    ecosystem_specific={"urgency": "unimportant"}),
                   record("qemu", "1:7.2+dfsg-7", cve="CVE-2021-3929"))
    judgement = packages.judge_packages(listed_sources(), DEBIAN, records, {}, ACCEPT)
    assert judgement.status == "pass" and judgement.reasons == []
    assert judgement.accepted == ["DEBIAN-CVE-2024-1 (CVE-2024-1) in linux 6.1.192-3 (rated "
                                  "unimportant, no fix)"]


def test_a_floor_fails_a_source_below_it(tmp_path):
    records = feed(tmp_path, record("qemu", "1:7.2+dfsg-7"))
    judgement = packages.judge_packages(listed_sources(), DEBIAN, records,
                                        {"libvirt": "11.0.0-1", "absent": "1.0"}, ACCEPT)
    assert judgement.status == "fail"
    assert judgement.reasons == ["libvirt 9.0.0-4+deb12u1 (libvirt-clients, libvirt0) is below "
                                 "the policy floor 11.0.0-1"]


def test_what_the_feed_cannot_judge_is_an_error(tmp_path):
    found = listed_sources()
    with pytest.raises(PackagesError, match="no OSV ecosystem"):
        packages.judge_packages(found, None, feed(tmp_path, record("qemu", "1")), {}, ACCEPT)
    rocky_only = feed(tmp_path, record("qemu-kvm", "1", ecosystem="Rocky Linux:9"))
    with pytest.raises(PackagesError, match="has no records for Debian"):
        packages.judge_packages(found, DEBIAN, rocky_only, {}, ACCEPT)
    with pytest.raises(PackagesError, match="names any of the 5 source packages"):
        packages.judge_packages(found, DEBIAN, feed(tmp_path, record("xz-utils", "1")), {},
                                ACCEPT)
    with pytest.raises(PackagesError, match="no packages are installed"):
        packages.judge_packages([], DEBIAN, feed(tmp_path, record("qemu", "1")), {}, ACCEPT)


def test_findings_beyond_five_per_source_are_counted(tmp_path):
    records = feed(tmp_path, *(record("bash", "5.2.15-3", cve=f"CVE-2025-{n}")
                               for n in range(8)))
    judgement = packages.judge_packages(listed_sources(), DEBIAN, records, {}, ACCEPT)
    assert judgement.reasons[0].startswith("bash 5.2.15-2+b8 (bash): 8 open: ")
    assert judgement.reasons[0].endswith(" and 3 more")


@given(st.integers(0, 30), st.integers(1, 9), st.integers(0, 30), st.integers(1, 9))
def test_a_source_fails_exactly_when_its_version_is_below_the_fix(major, rev, fmajor, frev):
    installed, fixed = f"1.{major}-{rev}", f"1.{fmajor}-{frev}"
    records = memory_feed([record("bash", fixed)])
    judgement = packages.judge_packages([Source(("bash",), installed, ("bash",))], DEBIAN,
                                        records, {}, ACCEPT)
    assert (judgement.status == "fail") == ((major, rev) < (fmajor, frev))


def memory_feed(raws):
    """The Database of records held in memory (hypothesis runs too many examples for files)."""
    held = Feed(Path("memory"))
    for raw in raws:
        held._add(feed_record(raw, "memory"))
    held._index_packages()
    return osv.Database(held)


def test_host_listing_asks_the_hosts_package_manager():
    calls = []

    def run(command, *args):
        calls.append((command, args))
        return SimpleNamespace(rc=0, stdout=DPKG.split("\n", 1)[1], stderr="")

    hypervisor = SimpleNamespace(host=SimpleNamespace(run=run))
    listing = packages.host_listing(hypervisor, DEBIAN)
    assert calls == [("dpkg-query -W -f %s", (packages.DPKG_FORMAT,))]
    assert listing.manager == "dpkg" and len(listing.packages) == 6


def test_host_listing_that_fails_is_an_error():
    failed = SimpleNamespace(rc=127, stdout="", stderr="sh: rpm: not found")
    hypervisor = SimpleNamespace(host=SimpleNamespace(run=lambda *a: failed))
    with pytest.raises(PackagesError, match="`rpm` on the host exited 127: sh: rpm: not found"):
        packages.host_listing(hypervisor, distro.distribution(ROCKY_9))


def test_installed_package_defaults():
    assert packages.parse_dpkg("ii \tzlib1g\t1:1.2.13\t\t\t") == (
        Installed("zlib1g", "1:1.2.13", "zlib1g", "1:1.2.13"),)


@pytest.mark.parametrize("table, words", [
    ('[packages]\nguest_floor = ["glibc"]\n', "guest_floor is not a table"),
    ('[packages]\nhost_floor = { libvirt = 9 }\n', "host_floor is not a table"),
])
def test_package_floors_that_are_not_versions_are_policy_errors(tmp_path, table, words):
    path = tmp_path / "p.toml"
    path.write_text("".join(f'[{name}]\nfloor = "6.1.0"\n' for name in policyfile.COMPONENTS)
                    + table)
    with pytest.raises(policyfile.PolicyError, match=words):
        policyfile.read(path)


def test_leaky_policy_floors_packages_the_default_leaves_alone():
    default = policyfile.read(policyfile.DEFAULT).packages
    leaky = policyfile.read(policyfile.POLICIES / "leaky.toml").packages
    assert (default.guest_floor, default.host_floor) == ({}, {})
    assert leaky.guest_floor == {"glibc": "2.41-1"} and leaky.host_floor == {"libvirt": "11.0.0-1"}
