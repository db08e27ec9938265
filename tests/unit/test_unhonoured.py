"""What a host cannot honour (helpers/template/unhonoured.py): libvirt's refusal for a missing
cgroup controller drops exactly the elements that need it, says so, and leaves the rest."""

import xml.etree.ElementTree as ET

import pytest

from helpers.template.unhonoured import drop
from tests.support.suite import ROOT

NO_CPU = "unsupported configuration: cgroup cpu is required for scheduler tuning"


def hardened():
    return ET.fromstring((ROOT / "templates" / "hardened.xml").read_text())


def test_a_missing_cpu_controller_drops_the_scheduler_settings_and_says_why():
    root = hardened()
    assert root.find("cputune/global_quota") is not None
    change = drop(root, NO_CPU)
    assert root.find("cputune") is None
    assert change.startswith("<cputune> ") and "global_quota" in change
    assert "no cpu cgroup controller for QEMU, which scheduler tuning needs" in change
    assert "enable the cpu controller" in change and "\n" not in change


def test_pinning_stays_where_only_the_scheduler_settings_go():
    root = ET.fromstring("<domain><cputune><vcpupin vcpu='0' cpuset='1'/><shares>512</shares>"
                         "</cputune></domain>")
    assert drop(root, NO_CPU) is not None
    assert root.find("cputune/vcpupin") is not None and root.find("cputune/shares") is None


def test_a_refusal_of_another_kind_changes_nothing():
    root = hardened()
    before = ET.tostring(root)
    assert drop(root, "unsupported configuration: diag288 model of watchdog is allowed for s390 "
                      "and s390x only") is None
    assert drop(root, "cgroup cpuacct is required for accounting") is None
    assert ET.tostring(root) == before


def test_nothing_left_to_drop_is_no_change_so_the_refusal_stands():
    root = ET.fromstring("<domain><vcpu>1</vcpu></domain>")
    assert drop(root, NO_CPU) is None


@pytest.mark.parametrize("message, element, gone, kept", [
    # libvirt 9.0's words (src/hypervisor/domain_cgroup.c) for each controller a host may lack
    ("unsupported configuration: CPU tuning is not available on this host",
     "<cputune><shares>512</shares></cputune>", "cputune", None),
    ("unsupported configuration: Memory cgroup is not available on this host",
     "<memtune><hard_limit unit='MiB'>768</hard_limit><min_guarantee>1</min_guarantee>"
     "</memtune>", "memtune/hard_limit", "memtune/min_guarantee"),
    ("unsupported configuration: Block I/O tuning is not available on this host",
     "<blkiotune><weight>800</weight></blkiotune>", "blkiotune", None),
])
def test_each_controller_the_host_lacks_drops_what_needs_it(message, element, gone, kept):
    root = ET.fromstring(f"<domain>{element}</domain>")
    change = drop(root, message)
    assert change is not None and "removed: the host's libvirt has no" in change
    assert root.find(gone) is None
    assert kept is None or root.find(kept) is not None
