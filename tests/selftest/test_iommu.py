"""Self-tests: DEV-08 fails where a template passes a PCI device through to a host whose IOMMU
does not remap interrupts, and passes on a host that fences it.

This lab cannot start a guest with a PCI device (this machine has none for VFIO), so the
template and the host decide without a guest. The hosts are remote hosts (tests/support/sshhost.py)
whose sshd sees /sys/kernel/iommu_groups, /proc/interrupts and VFIO's parameters through files
put over them in its own mount namespace; this machine's own are never changed.
"""

import pytest

from helpers.lab.lab import NETWORK
from tests.support.labs import hardened_lab
from tests.support.sshhost import SshHost
from tests.support.suite import ROOT, run_suite, statuses

HOSTDEV = ("<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' "
           "bus='0x00' slot='0x1f' function='0x0'/></source></hostdev>")
INTERRUPTS = """           CPU0       CPU1
  0:         44          0   {remap}IO-APIC   2-edge      timer
 24:          0       1031   {remap}PCI-MSI 524288-edge      nvme0q0
"""


@pytest.fixture(scope="module")
def lab():
    with hardened_lab() as lab:
        yield lab


@pytest.fixture(scope="module")
def passthrough(tmp_path_factory):
    template = tmp_path_factory.mktemp("passthrough") / "passthrough.xml"
    template.write_text((ROOT / "templates" / "hardened.xml").read_text().replace(
        "</devices>", f"{HOSTDEV}\n  </devices>", 1))
    return template


def host_with(folder, groups, remap, unsafe=None):
    """Overlays showing an IOMMU with `groups` groups, interrupt chips named with `remap`
    ('IR-' where the kernel remaps), and VFIO's allow_unsafe_interrupts where given."""
    overlays = {}
    (folder / "groups").mkdir(parents=True)
    for group in range(groups):
        (folder / "groups" / str(group)).mkdir()
    overlays["/sys/kernel/iommu_groups"] = folder / "groups"
    (folder / "interrupts").write_text(INTERRUPTS.format(remap=remap))
    overlays["/proc/interrupts"] = folder / "interrupts"
    if unsafe is not None:
        parameters = folder / "module" / "vfio_iommu_type1" / "parameters"
        parameters.mkdir(parents=True)
        (parameters / "allow_unsafe_interrupts").write_text(unsafe + "\n")
        overlays["/sys/module"] = folder / "module"
    return overlays


def dev08(lab, folder, template, overlays):
    with SshHost.start(lab, folder / "ssh", overlays=overlays) as host:
        proc, report = run_suite(folder / "report", "suites/test_host.py", "--libvirt-uri",
                                 host.uri, "--network", NETWORK, "--template", str(template),
                                 "--control", "DEV-08", prefix=host.runner_prefix)
    control = next(c for c in report["controls"] if c["id"] == "DEV-08")
    return statuses(report)["DEV-08"], " ".join(e["observed"] for e in control["evidence"]), proc


@pytest.mark.parametrize("groups, remap, unsafe, status, seen", [
    (0, "", None, "fail", "0 IOMMU groups; no interrupt remapped"),
    (12, "", None, "fail", "12 IOMMU groups; no interrupt remapped"),
    (12, "IR-", "Y", "fail", "allow_unsafe_interrupts=Y"),
    (12, "IR-", "N", "pass", "interrupt remapping on (IR-IO-APIC, IR-PCI-MSI)"),
])
def test_a_passed_through_device_needs_the_iommu_to_remap_its_interrupts(
        lab, passthrough, tmp_path, groups, remap, unsafe, status, seen):
    found, observed, proc = dev08(lab, tmp_path, passthrough,
                                  host_with(tmp_path / "host", groups, remap, unsafe))
    assert found == status, proc.stdout[-3000:]
    assert seen in observed, observed


def test_a_template_without_passthrough_needs_no_iommu(lab, tmp_path):
    found, observed, proc = dev08(lab, tmp_path, ROOT / "templates" / "hardened.xml",
                                  host_with(tmp_path / "host", 0, ""))
    assert found == "pass", proc.stdout[-3000:]
    assert "0 IOMMU groups" in observed, observed
