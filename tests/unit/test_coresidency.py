"""The host kernel settings DEV-05, DEV-06, DEV-08 and HV-10 judge, read from a sysfs tree under a
folder (as LocalHypervisor reads /sys)."""

import os
from pathlib import Path

import pytest

from helpers.hostconfig import kernel
from helpers.hostconfig.kernel import Ksm, Smt
from helpers.probes.host.iommu import remapped_chips


class Rooted:
    """This machine's file reads, with / at `root`."""

    def __init__(self, root):
        self.root = Path(root)

    def _at(self, path):
        return self.root / str(path).lstrip("/")

    def read_text(self, path):
        return self._at(path).read_text()

    def mode(self, path):
        try:
            return os.stat(self._at(path)).st_mode
        except FileNotFoundError:
            return None

    def listdir(self, path):
        return sorted(os.listdir(self._at(path)))


def host(tmp_path, files):
    for path, text in files.items():
        (tmp_path / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path.lstrip("/")).write_text(text + "\n")
    return Rooted(tmp_path)


@pytest.mark.parametrize("run, merging", [("0", False), ("1", True), ("2", False)])
def test_ksm_merges_only_while_it_runs(tmp_path, run, merging):
    ksm = Ksm.read(host(tmp_path, {"/sys/kernel/mm/ksm/run": run,
                                   "/sys/kernel/mm/ksm/pages_sharing": "42"}))
    assert ksm.merging is merging
    assert ksm.pages_sharing == 42


def test_a_kernel_without_ksm_merges_nothing(tmp_path):
    ksm = Ksm.read(host(tmp_path, {"/sys/kernel/mm/other": "x"}))
    assert (ksm.run, ksm.merging) == (None, False)
    assert "no KSM" in str(ksm)


@pytest.mark.parametrize("control, active, shared", [
    ("on", "1", True), ("on", "0", True),  # on with one thread online: another can come up
    ("off", "0", False), ("forceoff", "0", False), ("notsupported", "0", False),
    ("notimplemented", "0", False)])
def test_smt_is_shared_unless_the_kernel_keeps_it_off(tmp_path, control, active, shared):
    smt = Smt.read(host(tmp_path, {"/sys/devices/system/cpu/smt/control": control,
                                   "/sys/devices/system/cpu/smt/active": active}))
    assert smt.shared is shared


def test_only_the_reports_that_say_smt_vulnerable_are_kept(tmp_path):
    vulns = "/sys/devices/system/cpu/vulnerabilities"
    smt = Smt.read(host(tmp_path, {
        "/sys/devices/system/cpu/smt/control": "on",
        f"{vulns}/mds": "Mitigation: Clear CPU buffers; SMT vulnerable",
        f"{vulns}/l1tf": "Mitigation: PTE Inversion; VMX: conditional cache flushes, SMT "
                         "vulnerable",
        f"{vulns}/meltdown": "Not affected"}))
    assert [v.split(":")[0] for v in smt.vulnerable] == ["l1tf", "mds"]


def test_nested_is_read_from_each_loaded_kvm_module(tmp_path):
    hv = host(tmp_path, {"/sys/module/kvm_intel/parameters/nested": "Y",
                         "/sys/module/kvm_amd/parameters/nested": "0",
                         "/sys/module/kvm/parameters/halt_poll_ns": "0"})
    found = kernel.nested_kvm(hv)
    assert found == {"kvm_intel": "Y", "kvm_amd": "0"}
    assert kernel.nested_enabled(found) == ["kvm_intel"]
    assert kernel.nested_enabled({"kvm_amd": "1"}) == ["kvm_amd"]
    assert kernel.nested_kvm(host(tmp_path / "none", {"/sys/module/kvm/x": "1"})) == {}


def test_interrupt_chips_through_the_remapping_table_are_named():
    text = ("           CPU0\n  0:   44   IR-IO-APIC   2-edge   timer\n"
            " 24:    0   IR-PCI-MSI 524288-edge   nvme0q0\n  9:  0   IO-APIC  9-fasteoi  acpi\n")
    assert remapped_chips(text) == ("IR-IO-APIC", "IR-PCI-MSI")
    assert remapped_chips("           CPU0\n  0:   44   IO-APIC   2-edge   timer\n") == ()
