"""Modern UEFI templates as virt-install writes them: <os firmware='efi'> (libvirt picks the
firmware), <boot dev='hd'/> and an emulated TPM 2.0 (tpm-crb, swtpm), on the hardened template.
The probe guest boots under each firmware libvirt can pick here and every control is decided:
Secure Boot without keys and no Secure Boot here; Secure Boot with Microsoft's keys enrolled is
test_real_templates.py's win11 run. A guest that stops at its boot loader's prompt is recognised
from its console, and the checks of the template and the host still decide."""

import pytest

from tests.support.expected import VANTAGES, expected_status
from tests.support.suite import ROOT, run_suite, statuses, unlike

pytestmark = pytest.mark.slow

FIRMWARE = {  # what the template asks of libvirt's firmware auto-selection
    "secure-boot-no-keys": "<firmware><feature enabled='no' name='enrolled-keys'/></firmware>",
    "no-secure-boot": "<firmware><feature enabled='no' name='secure-boot'/></firmware>",
}
TPM = "<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>"
# NUMA cells fix the guest's memory: vmiso cannot give GRUB the room the probe kernel needs
NUMA = "<numa><cell id='0' cpus='0' memory='256' unit='MiB'/></numa>"


def uefi_template(folder, name, firmware, cpu_extra=""):
    xml = (ROOT / "templates" / "hardened.xml").read_text()
    xml = xml.replace("<os>", f"<os firmware='efi'>{firmware}", 1).replace(
        "</devices>", f"{TPM}</devices>", 1).replace(
        "<name>hardened</name>", f"<name>uefi-{name}</name>", 1)
    xml = xml.replace("check='none'>", f"check='none'>{cpu_extra}", 1)
    path = folder / f"{name}.xml"
    path.write_text(xml)
    return path


@pytest.fixture(scope="module", params=sorted(FIRMWARE))
def run(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param)
    template = uefi_template(folder, request.param, FIRMWARE[request.param])
    return run_suite(folder / "report", "suites", "--template", str(template))


def test_every_control_is_decided_under_each_firmware(run):
    proc, report = run
    # tpm-crb is no device of the default allowlist (HV-09); the rest as the hardened template
    expected = {cid: expected_status("hardened", cid) for cid in VANTAGES} | {"HV-09": "fail"}
    assert statuses(report) == expected, unlike(report, expected)
    assert report["run"]["guest_boot"] == "disk"


def test_the_probe_guest_gets_the_memory_its_boot_loader_needs_and_says_so(run):
    _, report = run
    assert any(a.startswith("<memory> 256 MiB -> 512 MiB") for a in report["run"]["adaptations"])


def test_a_guest_stopped_at_grubs_prompt_is_recognised_and_the_rest_decided(tmp_path):
    template = uefi_template(tmp_path, "numa", FIRMWARE["no-secure-boot"], NUMA)
    proc, report = run_suite(tmp_path / "report", "suites", "--template", str(template),
                             "--control", "HV-05,PAT-03")
    stalled = report["run"].get("guest_stalled", "")
    assert "stopped at GRUB's prompt (error: out of memory." in stalled, proc.stdout[-2000:]
    assert statuses(report) == {"HV-05": "error", "PAT-03": expected_status("hardened", "PAT-03")}
    hv05 = next(c for c in report["controls"] if c["id"] == "HV-05")
    static = [k for k in hv05["checks"] if k["declared"]]
    assert static and {k["verdict"] for k in static} == {"pass"}, hv05["checks"]
    assert proc.returncode == 1
