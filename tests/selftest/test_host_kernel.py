"""Self-tests: the host kernel settings through which one guest reaches another without escaping
(KSM merging their pages, SMT siblings, nested KVM) fail their controls on a host that has them, and
pass where the host or the template answers for them.

This machine's kernel settings are never changed: a remote host (tests/support/sshhost.py) shows
each setting through files put over /sys in its sshd's private mount namespace, as the mutation
matrix names them (`simulated`). This machine's own state is judged in every conformance run.
"""

from pathlib import Path

import pytest

from helpers.lab.lab import NETWORK
from tests.support import hostvalidate, matrix
from tests.support.labs import hardened_lab
from tests.support.sshhost import SshHost
from tests.support.suite import ROOT, run_suite, statuses

SIMULATED = {cid: m.value for cid, m in matrix.load().items() if m.kind == "simulated"}
SUITES = ("suites/test_coresidency.py", "suites/test_hypervisor_surface.py")
HARDENED = ROOT / "templates" / "hardened.xml"
VULNERABILITIES = Path("/sys/devices/system/cpu/vulnerabilities")
# The same host where each setting is answered for: KSM merging but the guest opted out, SMT on
# under core scheduling (the policy accepts it) with no CPU reported SMT vulnerable, nested off.
ANSWERED = {"/sys/kernel/mm/ksm/run": "1",
            "/sys/devices/system/cpu/smt/control": "on",
            "/sys/devices/system/cpu/smt/active": "1",
            "/sys/devices/system/cpu/vulnerabilities/mds": "Not affected",
            "/sys/module/kvm_intel/parameters/nested": "N"}


def sysfs_overlays(folder, values):
    """{path on the host: file or folder put over it}: a file the host has is covered by one
    holding the value; one it lacks (sysfs cannot hold new files) is made in a folder put over
    its nearest existing parent."""
    overlays = {}
    for path, value in values.items():
        path = mount = Path(path)
        while not mount.exists():
            mount = mount.parent
        made = folder / path.relative_to("/")
        made.parent.mkdir(parents=True, exist_ok=True)
        made.write_text(value + "\n")
        overlays[str(mount)] = folder / mount.relative_to("/")
    return overlays


@pytest.fixture(scope="module")
def lab():
    with hardened_lab() as lab:
        yield lab


def _run(lab, folder, values, *options):
    overlays = sysfs_overlays(folder / "sys", values)
    with SshHost.start(lab, folder / "ssh", overlays=overlays) as host:
        return run_suite(folder / "report", *SUITES, "--libvirt-uri", host.uri, "--network",
                         NETWORK, "--control", ",".join(sorted(SIMULATED)), *options,
                         prefix=host.runner_prefix)


def test_each_setting_fails_its_control_on_a_host_that_has_it(lab, tmp_path):
    values = {path: value for settings in SIMULATED.values() for path, value in settings.items()}
    proc, report = _run(lab, tmp_path, values, "--template", "hardened")
    assert statuses(report) == {cid: "fail" for cid in SIMULATED}, proc.stdout[-3000:]
    failed = {c["id"]: [e["observed"] for e in c["evidence"] if not e.get("ok", True)]
              for c in report["controls"]}
    assert any("merging" in str(o) for o in failed["DEV-05"]), failed
    assert any("SMT vulnerable" in str(o) for o in failed["DEV-06"]), failed
    assert any("kvm_intel" in str(o) for o in failed["HV-10"]), failed


def test_a_template_and_a_policy_that_answer_for_the_host_pass(lab, tmp_path):
    template = tmp_path / "nosharepages.xml"
    xml = HARDENED.read_text()
    template.write_text(xml.replace("</memory>", "</memory>\n  <memoryBacking><nosharepages/>"
                                                  "</memoryBacking>", 1))
    policy = tmp_path / "policy.toml"
    policy.write_text((ROOT / "policies" / "default.toml").read_text().replace(
        "accept_smt = false", "accept_smt = true"))
    proc, report = _run(lab, tmp_path, ANSWERED, "--template", str(template), "--policy",
                        str(policy))
    assert statuses(report) == {cid: "pass" for cid in SIMULATED}, proc.stdout[-3000:]
    dev05 = next(c for c in report["controls"] if c["id"] == "DEV-05")
    assert any("mem-merge off" in str(e["observed"]) for e in dev05["evidence"]), dev05


def test_a_preflight_of_the_simulated_host_agrees_with_its_full_run_and_virt_host_validate(
        lab, tmp_path):
    """The host's own CPU (virtualization extensions), IOMMU and kernel settings, read over SSH
    without a guest: the controls a full run fails there fail, and virt-host-validate, run on
    the host, reports each fact both read the same way."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    with_vmx = "\n".join(line + " vmx" if line.startswith("flags") else line
                         for line in cpuinfo.splitlines())
    values = {path: value for settings in SIMULATED.values() for path, value in settings.items()}
    values.update({"/proc/cpuinfo": with_vmx, "/sys/firmware/acpi/tables/DMAR": "simulated",
                   "/sys/kernel/iommu_groups/0/type": "DMA"})
    overlays = sysfs_overlays(tmp_path / "sys", values)
    overlays[str(VULNERABILITIES)] = _without_vmscape(tmp_path / "vulnerabilities", values)
    with SshHost.start(lab, tmp_path / "ssh", overlays=overlays) as host:
        proc, report = run_suite(tmp_path / "report", "suites", "--preflight", "--libvirt-uri",
                                 host.uri, "--network", NETWORK, prefix=host.runner_prefix)
        validated = host.run("virt-host-validate", "qemu").stdout
    judged = statuses(report)
    guestless = {cid for cid in SIMULATED if cid != "DEV-05"}  # KSM is read on QEMU's flags
    assert {cid: judged.get(cid) for cid in SIMULATED} == \
        {cid: "fail" if cid in guestless else None for cid in SIMULATED}, proc.stdout[-3000:]
    assert report["host"]["accelerator"] == "kvm"  # the host's CPU, not the controller's
    pat03 = next(c for c in report["controls"] if c["id"] == "PAT-03")
    assert pat03["status"] == "fail" and any("vmscape: not reported" in str(e["observed"])
                                             for e in pat03["evidence"]), pat03
    ours, theirs = hostvalidate.agreement(report, validated)
    assert {"hardware virtualization", "IOMMU groups"} <= ours.keys(), validated
    assert ours == theirs and ours["IOMMU groups"], validated


def _without_vmscape(folder, values):
    """The host kernel's CPU vulnerability report as a kernel older than VMSCAPE's mitigation
    gives it (no vmscape entry), with the simulated entries' values."""
    folder.mkdir()
    for entry in VULNERABILITIES.iterdir():
        if entry.name != "vmscape":
            (folder / entry.name).write_text(values.get(str(entry), entry.read_text().strip())
                                             + "\n")
    return folder
