"""Version numbers and the QEMU version policy (PAT-01); tests/unit/test_policyfile.py reads the
policy files."""

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.patches.versions import Cve, Policy, Version, judge
from helpers.policy import policyfile

POLICIES = Path(__file__).resolve().parents[2] / "policies"
# What `info qtree` lists for a q35 guest like templates/hardened.xml.
Q35_DEVICES = {"mch", "ICH9-LPC", "ICH9-SMB", "ich9-ahci", "pcie-root-port", "virtio-blk-pci",
               "virtio-net-pci", "virtio-serial-pci", "isa-serial", "mc146818rtc", "kvmvapic"}

parts = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=3)
suffixes = st.tuples(st.sampled_from(" -+~("), st.text()).map("".join)


def dotted(numbers):
    return ".".join(str(n) for n in numbers)


def padded(numbers):
    return tuple(numbers) + (0,) * (3 - len(numbers))


def V(text):
    return Version.parse(text)


def cve(fixed, devices, stable=(), id="CVE-TEST"):
    return Cve(id, V(fixed), tuple(V(s) for s in stable), re.compile(devices))


def policy(floor="7.2.0", *cves):
    return Policy(V(floor), tuple(cves))


@given(parts)
def test_parse_pads_integer_parts_to_three(numbers):
    assert V(dotted(numbers)).parts == padded(numbers)


@given(parts, parts)
def test_ordering_matches_tuple_ordering_of_integer_parts(a, b):
    assert (V(dotted(a)) < V(dotted(b))) == (padded(a) < padded(b))
    assert (V(dotted(a)) == V(dotted(b))) == (padded(a) == padded(b))
    assert (V(dotted(a)) >= V(dotted(b))) == (padded(a) >= padded(b))


@given(parts, suffixes)
def test_parse_ignores_a_suffix_after_the_number(numbers, suffix):
    assert V(dotted(numbers) + suffix) == V(dotted(numbers))


def test_missing_micro_is_zero():
    assert V("7.2") == V("7.2.0")
    assert V("7.2.22 (Debian 1:7.2+dfsg-7+deb12u7)") == V("7.2.22")
    assert V("7.2.22") > V("7.2.4")


def test_str_and_series():
    assert str(V("8.1")) == "8.1.0"
    assert V("7.2.22").series == (7, 2)


@pytest.mark.parametrize("text", ["", "abc", "v7.2", "QEMU emulator version 7.2.22", ".7"])
def test_text_without_a_leading_number_is_not_a_version(text):
    with pytest.raises(ValueError, match="not a version number"):
        V(text)


@given(parts, st.sets(st.sampled_from(sorted(Q35_DEVICES | {"isa-fdc", "qemu-xhci"}))))
def test_below_the_floor_fails_whatever_the_devices(numbers, devices):
    version = V(dotted(numbers))
    floor = V("7.2.0")
    judgement = judge(version, devices, Policy(floor, ()))
    assert (judgement.status == "fail") == (version < floor)


def test_below_floor_reason_names_both_versions():
    judgement = judge(V("6.2.0"), set(), policy("7.2.0"))
    assert judgement.status == "fail"
    assert judgement.reasons == ["QEMU 6.2.0 is below the policy floor 7.2.0"]


def test_open_cve_with_its_device_present_fails():
    judgement = judge(V("8.0.0"), {"virtio-9p-pci"}, policy("7.2.0", cve("8.1.0", "^virtio-9p-")))
    assert judgement.status == "fail"
    assert "virtio-9p-pci" in judgement.reasons[0]


def test_open_cve_with_its_device_absent_is_mitigated():
    judgement = judge(V("8.0.0"), Q35_DEVICES, policy("7.2.0", cve("8.1.0", "^virtio-9p-")))
    assert judgement.status == "mitigated"
    assert judgement.reasons == ["CVE-TEST open in 8.0.0, its device is absent"]


@pytest.mark.parametrize("version, status", [
    ("7.2.22", "pass"),   # fixed in the 7.2 stable series
    ("7.2.4", "pass"),
    ("7.2.3", "fail"),
    ("8.0.5", "fail"),    # 8.0 has no stable fix and is below 8.1.0
    ("8.1.0", "pass"),
    ("9.0.0", "pass"),
])
def test_stable_series_fix_counts_only_within_its_series(version, status):
    rules = policy("7.2.0", cve("8.1.0", "^virtio-9p-", stable=["7.2.4"]))
    assert judge(V(version), {"virtio-9p-pci"}, rules).status == status


def test_a_present_device_fails_even_when_another_cve_is_only_mitigated():
    fdc = cve("9.0.0", "^isa-fdc$", id="CVE-A")
    nvme = cve("9.0.0", "^nvme", id="CVE-B")
    for cves in ((fdc, nvme), (nvme, fdc)):
        assert judge(V("8.0.0"), {"isa-fdc"}, policy("7.2.0", *cves)).status == "fail"


def test_leaky_policy_fails_debian_12_qemu():
    judgement = judge(V("7.2.22"), Q35_DEVICES, policyfile.read(POLICIES / "leaky.toml").qemu)
    assert judgement.status == "fail"


def test_default_policy_passes_debian_12_qemu_on_q35():
    judgement = judge(V("7.2.22"), Q35_DEVICES, policyfile.read(POLICIES / "default.toml").qemu)
    assert (judgement.status, judgement.reasons) == ("pass", [])


def test_default_policy_fails_an_unpatched_72_with_a_9p_share():
    default = policyfile.read(POLICIES / "default.toml").qemu
    assert judge(V("7.2.3"), Q35_DEVICES | {"virtio-9p-pci"}, default).status == "fail"
    assert judge(V("7.2.3"), Q35_DEVICES, default).status == "mitigated"
