"""The policy file read once into every part of it, and each thing wrong with one named in a
line that says which file, what is wrong and how to fix it."""

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.hostconfig import facts
from helpers.patches.triage import TriagePolicy
from helpers.patches.versions import Version
from helpers.policy import policyfile
from helpers.policy.policyfile import CoresidencyPolicy, PolicyError

LEAKY = policyfile.POLICIES / "leaky.toml"
QEMU = '[qemu]\nfloor = "7.2.0"\n'
CVE = '[[qemu.cve]]\nid = "CVE-X"\nfixed = "8.1.0"\ndevices = "^x$"\n'
OTHERS = "".join(f'[{name}]\nfloor = "1.0"\n' for name in ("libvirt", "host_kernel",
                                                             "guest_kernel"))
MESSAGE = re.compile(r"policy file (?P<path>\S+): (?P<what>[^;\n]+); (?P<fix>[^\n]+)")
parts = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=3)
names = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)


def written(tmp_path, text, name="policy.toml"):
    """A policy file of `text` and the three version tables besides [qemu]."""
    path = tmp_path / name
    path.write_text(text + OTHERS)
    return path


def problem(path):
    """(what is wrong, the fix) of the one-line PolicyError reading `path` raises."""
    with pytest.raises(PolicyError) as raised:
        policyfile.read(path)
    match = MESSAGE.fullmatch(str(raised.value))
    assert match, str(raised.value)
    assert match["path"] == str(path)
    return match["what"], match["fix"]


def test_both_shipped_policies_load():
    default, leaky = policyfile.read(policyfile.DEFAULT), policyfile.read(LEAKY)
    assert default.qemu.floor == Version.parse("7.2.0")
    assert leaky.qemu.floor == Version.parse("9.2.0")
    assert [c.id for c in default.qemu.cves] == [c.id for c in leaky.qemu.cves]
    assert "CVE-2015-3456" in {c.id for c in default.qemu.cves}
    assert default.libvirt.floor == Version.parse("7.5.0")
    assert [c.id for c in default.libvirt.cves] == ["CVE-2021-3631"]
    assert not default.libvirt.cves[0].devices.pattern  # applies whatever the devices
    assert (default.host_kernel.floor, leaky.host_kernel.floor) == (Version.parse("6.1"),
                                                                     Version.parse("99"))
    assert default.guest_kernel.floor == Version.parse("6.1.0")


def test_the_default_policy_keeps_the_default_triage_and_refuses_smt():
    default = policyfile.read(policyfile.DEFAULT)
    assert default.patches == TriagePolicy()
    assert default.coresidency == CoresidencyPolicy(accept_smt=False)
    assert {"mch", "virtio-net-pci", "isa-serial"} <= set(default.allowed_devices)


def test_a_policy_without_devices_takes_the_default_policys_allowlist(tmp_path, monkeypatch):
    default = policyfile.read(policyfile.DEFAULT).allowed_devices
    assert policyfile.read(LEAKY).allowed_devices == default
    assert policyfile.read(written(tmp_path, QEMU)).allowed_devices == default
    path = written(tmp_path, QEMU + '[devices]\nallowed = ["virtio-*-device"]\n')
    assert policyfile.read(path).allowed_devices == ("virtio-*-device",)
    monkeypatch.setattr(policyfile, "DEFAULT", written(tmp_path, QEMU, "default.toml"))
    assert policyfile.read(policyfile.DEFAULT).allowed_devices == ()


def test_the_host_kernel_must_report_vmscape_unless_a_policy_says_otherwise(tmp_path):
    assert policyfile.read(policyfile.DEFAULT).cpu.reported == ("vmscape",)
    assert policyfile.read(written(tmp_path, QEMU)).cpu.reported == ("vmscape",)
    path = written(tmp_path, QEMU + '[cpu_vulnerabilities]\nreported = ["tsa", "its"]\n')
    assert policyfile.read(path).cpu.reported == ("tsa", "its")
    states = {"tsa": "Not affected", "mds": "Vulnerable"}
    assert facts.unreported(states, ("vmscape", "tsa")) == ["vmscape"]


def test_the_patches_table_is_read_in_lower_case_with_defaults_where_absent(tmp_path):
    path = written(tmp_path, QEMU + '[patches]\naccept_unfixed = ["Unimportant", "<No-DSA>"]\n'
                                    'feed_max_age_days = 3\n')
    assert policyfile.read(path).patches == TriagePolicy(frozenset({"unimportant", "no-dsa"}), 3)
    path = written(tmp_path, QEMU + "[patches]\nfeed_max_age_days = 0\n")
    assert policyfile.read(path).patches == TriagePolicy(feed_max_age_days=0)


def test_the_policy_accepts_smt_only_when_it_says_so(tmp_path):
    assert policyfile.read(written(tmp_path, QEMU)).coresidency.accept_smt is False
    path = written(tmp_path, QEMU + "[coresidency]\naccept_smt = true\n")
    assert policyfile.read(path).coresidency.accept_smt is True


def test_a_neighbours_share_is_a_half_unless_the_policy_says(tmp_path):
    assert policyfile.read(written(tmp_path, QEMU)).coresidency.neighbour_share == 0.5
    path = written(tmp_path, QEMU + "[coresidency]\nneighbour_share = 1\n")
    assert policyfile.read(path).coresidency.neighbour_share == 1.0


def test_a_cve_reads_its_fix_stable_fixes_and_devices(tmp_path):
    path = written(tmp_path, QEMU + CVE + 'stable = ["7.2.4", "8.0"]\n')
    (cve,) = policyfile.read(path).qemu.cves
    assert (cve.id, cve.fixed, cve.stable) == ("CVE-X", Version.parse("8.1.0"),
                                               (Version.parse("7.2.4"), Version.parse("8.0.0")))
    assert cve.devices.search("x") and not cve.devices.search("xx")


def test_the_policy_file_is_the_one_given_else_the_templates_else_the_default(tmp_path):
    assert policyfile.for_template("templates/leaky.xml", str(tmp_path / "p.toml")) == \
        tmp_path / "p.toml"
    assert policyfile.for_template("templates/leaky.xml") == LEAKY
    assert policyfile.for_template(tmp_path / "mine.cfg") == policyfile.DEFAULT


@given(st.sampled_from(policyfile.COMPONENTS), parts)
def test_any_floor_reads_back_as_its_version(tmp_path_factory, component, numbers):
    floors = {name: "1.0" for name in policyfile.COMPONENTS}
    floors[component] = ".".join(str(n) for n in numbers)
    path = tmp_path_factory.mktemp("floor") / "policy.toml"
    path.write_text("".join(f'[{name}]\nfloor = "{floor}"\n' for name, floor in floors.items()))
    read = policyfile.read(path)
    assert getattr(read, component).floor.parts == tuple(numbers) + (0,) * (3 - len(numbers))


@given(st.lists(names, max_size=5))
def test_any_list_of_device_names_reads_back(tmp_path_factory, allowed):
    path = tmp_path_factory.mktemp("devices") / "policy.toml"
    devices = f"[devices]\nallowed = {json.dumps(allowed, ensure_ascii=False)}\n"
    path.write_text(QEMU + OTHERS + devices, encoding="utf-8")
    assert policyfile.read(path).allowed_devices == tuple(allowed)


@pytest.mark.parametrize("text, what, fix", [
    ("[qemu\nfloor = '7.2.0'\n", "line 1 is not valid TOML (Expected ']'", "correct line 1"),
    (QEMU + "floor = '7.3.0'\n", "line 3 is not valid TOML (Cannot overwrite a value",
     "correct line 3"),
    ("[other]\nfloor = '7.2.0'\n", "has no [qemu] table", 'add a [qemu] table with floor = "7.2.0"'),
    ("[[qemu]]\nfloor = '7.2.0'\n", "[qemu] is not a table", "under one [qemu] header"),
    ("[qemu]\n" + CVE, "[qemu] has no floor", 'floor = "7.2.0"'),
    ("[qemu]\nfloor = 'seven'\n", "[qemu] floor 'seven' is not a version number",
     'as a string, e.g. "7.2.0"'),
    ("[qemu]\nfloor = 7.2\n", "[qemu] floor 7.2 is not a version number", '"7.2.0"'),
    (QEMU + CVE.replace('fixed = "8.1.0"\n', ""), "[[qemu.cve]] CVE-X has no fixed",
     'fixed = "8.1.0"'),
    (QEMU + CVE.replace('fixed = "8.1.0"', 'fixed = "soon"'),
     "[[qemu.cve]] CVE-X fixed 'soon' is not a version number", '"8.1.0"'),
    (QEMU + CVE + CVE.replace('id = "CVE-X"\n', ""), "[[qemu.cve]] number 2 has no id",
     'id = "CVE-2023-2861"'),
    (QEMU + CVE.replace('"^x$"', '"(unclosed"'),
     "[[qemu.cve]] CVE-X devices '(unclosed' is not a regular expression", 'devices = "^'),
    (QEMU + CVE.replace('"^x$"', "5"), "[[qemu.cve]] CVE-X devices 5 is not a string",
     "regular expression of QEMU device types"),
    (QEMU + CVE + 'stable = ["next"]\n', "[[qemu.cve]] CVE-X stable 'next' is not a version",
     '"7.2.4"'),
    (QEMU + CVE + 'stable = "7.2.4"\n', "[[qemu.cve]] CVE-X stable is not a list",
     'stable = ["7.2.4"]'),
    (QEMU + CVE.replace("[[qemu.cve]]", "[qemu.cve]"), "qemu.cve is not an array of tables",
     "its own [[qemu.cve]] header"),
    (QEMU + "[patches]\naccept_unfixed = 'all'\n", "[patches] accept_unfixed is not a list",
     'accept_unfixed = ["unimportant", "no-dsa"]'),
    (QEMU + "[patches]\nfeed_max_age_days = 'week'\n",
     "[patches] feed_max_age_days 'week' is not a whole number of days", "0 or more"),
    (QEMU + "[patches]\nfeed_max_age_days = -1\n", "feed_max_age_days -1 is not", "0 or more"),
    (QEMU + "[patches]\nfeed_max_age_days = true\n", "feed_max_age_days True is not",
     "feed_max_age_days = 7"),
    ("patches = 3\n" + QEMU, "[patches] is not a table", "under one [patches] header"),
    (QEMU + "[coresidency]\naccept_smt = 'yes'\n",
     "[coresidency] accept_smt 'yes' is not true or false", "accept_smt = true"),
    (QEMU + "[coresidency]\nneighbour_share = 0\n",
     "[coresidency] neighbour_share 0 is not a fraction above 0 and at most 1",
     "neighbour_share = 0.5"),
    (QEMU + "[coresidency]\nneighbour_share = '80%'\n", "neighbour_share '80%' is not",
     "neighbour_share = 0.5"),
    (QEMU + "[coresidency]\nneighbour_share = true\n", "neighbour_share True is not",
     "neighbour_share = 0.5"),
    (QEMU + "[devices]\nallowed = 'virtio-net-pci'\n", "[devices] allowed is not a list",
     'allowed = ["virtio-net-pci"'),
    (QEMU + "[devices]\nallow = ['virtio-net-pci']\n", "[devices] allowed is not a list",
     'allowed = ["virtio-net-pci"'),
    ("devices = ['virtio-net-pci']\n" + QEMU, "[devices] is not a table", "[devices] header"),
    (QEMU + "[cpu_vulnerabilities]\nreported = 'vmscape'\n",
     "[cpu_vulnerabilities] reported is not a list", 'reported = ["vmscape", "tsa"]'),
    (QEMU + "[cpu_vulnerabilities]\nreported = ['../x']\n",
     "[cpu_vulnerabilities] reported is not a list", 'reported = ["vmscape"'),
])
def test_each_problem_is_one_line_naming_the_file_what_is_wrong_and_the_fix(tmp_path, text,
                                                                              what, fix):
    found_what, found_fix = problem(written(tmp_path, text))
    assert what in found_what
    assert fix in found_fix


def test_a_missing_file_says_to_pass_one_with_the_policy_option(tmp_path):
    assert problem(tmp_path / "absent.toml") == ("does not exist",
                                                 "pass an existing one with --policy")


def test_an_unreadable_file_says_why(tmp_path):
    assert problem(tmp_path) == ("cannot be read (Is a directory)",
                                 "pass a readable file with --policy")
    path = tmp_path / "latin1.toml"
    path.write_bytes(b"# caf\xe9\n" + QEMU.encode())
    assert problem(path) == ("is not UTF-8 text", "save it as UTF-8")
