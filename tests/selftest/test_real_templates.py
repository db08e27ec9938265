"""Production templates: what virt-install --print-xml writes on this machine, run through the
whole suite as a user would (--template PATH).

- win11: UEFI with Secure Boot and Microsoft's keys enrolled (libvirt picks OVMF's
  secure-enrolled firmware), an emulated TPM 2.0 (swtpm); the probe disk boots through its
  signed chain, the guest kernel is locked down.
- rhel9.2 and sles15sp5, as those hosts write them: RHEL's /usr/libexec/qemu-kvm and
  pc-q35-rhel9.2.0 machine, SUSE's /usr/bin/qemu-kvm. This machine's osinfo-db (2022-11) knows
  RHEL up to 9.1 and SLE up to 15 SP4, so the newest of each is asked for and the host-specific
  parts are written as RHEL 9.2 and SLES 15 SP5 hosts write them; the suite fits them to this
  host's QEMU and records it.

The expected verdicts were written from reading those XMLs (the comments say what in the XML
each failure comes from); the suite must reach exactly them, record what it adapted to run the
template here, and judge the static checks on the XML as given."""

import subprocess
from pathlib import Path

import pytest

from helpers.lab.lab import Lab
from helpers.template.domxml import Domain
from tests.support import static as static_support
from tests.support import virtinstall
from tests.support.expected import HOST_FAILURES, VANTAGES
from tests.support.suite import run_suite

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

# What every virt-install default template here has (q35, BIOS, host-passthrough CPU, qemu-xhci
# with a tablet, two spicevmc USB redirections, spice graphics with its vdagent channel, ich9
# sound, no traffic filter, no port isolation, no <memtune>, no <iotune>):
COMMON = {
    "HV-02",   # <controller type="usb" model="qemu-xhci">, <input type="tablet" bus="usb">
    "HV-03",   # <sound model="ich9"/>
    "HV-07",   # <cpu mode="host-passthrough"/>: the host's vmx/svm reach the guest
    "SHR-02",  # <channel type="spicevmc"> com.redhat.spice.0: the clipboard's path
    "SHR-05",  # <memballoon model="virtio"/> (win11: none given, libvirt adds one)
    "NET-01", "NET-03", "MGT-03", "MGT-04",  # no <filterref>: the host side is reachable
    "NET-04",  # no anti-spoofing filter
    "NET-05",  # no <port isolated="yes"/>
    "DEV-01",  # two <redirdev bus="usb" type="spicevmc"/>
    "ESC-06",  # no <memtune> hard limit: QEMU's memory is unbounded
    "DEV-07",  # no <iotune> on the disk: its I/O is unbounded
    "HV-09",   # qemu-xhci, usb-tablet, usb-redir, ich9-intel-hda...: none on the allowlist
}
EXPECTED_FAILURES = {
    "rhel9.2": COMMON | {"SHR-03"},  # <channel type="unix"> org.qemu.guest_agent.0
    "sles15sp5": COMMON | {"SHR-03"},  # the same devices
    "win11": COMMON | {"HV-04", "HV-05"},  # sata disk, e1000e NIC; qxl video; no agent channel
}
# name -> (the --osinfo this machine's virt-install knows, what the template's host writes)
WRITTEN_AS = {
    "rhel9.2": ("rhel9.1", {'machine="q35"': 'machine="pc-q35-rhel9.2.0"',
                            "/usr/bin/qemu-system-x86_64": "/usr/libexec/qemu-kvm"}),
    "sles15sp5": ("sle15sp4", {"/usr/bin/qemu-system-x86_64": "/usr/bin/qemu-kvm"}),
    "win11": ("win11", {}),
}
# what the suite must record fitting each to this host's QEMU
FITTED = {"rhel9.2": ["<emulator> /usr/libexec/qemu-kvm -> /usr/bin/qemu-system-x86_64",
                      "machine pc-q35-rhel9.2.0 -> pc-q35-"],
          "sles15sp5": ["<emulator> /usr/bin/qemu-kvm -> /usr/bin/qemu-system-x86_64"],
          "win11": []}


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    """virt-install's XML for each --osinfo, printed against a lab's libvirtd (it asks the
    hypervisor's capabilities, as it would on a real host)."""
    folder = tmp_path_factory.mktemp("virt-install")
    disk = folder / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "1G"], check=True)
    lab = Lab.start(Path("/run/vmiso"), ROOT / ".cache" / "libvirt" / "hardened")
    try:
        for name, (osinfo, host_parts) in WRITTEN_AS.items():
            xml = virtinstall.print_xml(lab, f"vi-{name}", osinfo, disk)
            for written_here, written_there in host_parts.items():
                assert written_here in xml
                xml = xml.replace(written_here, written_there)
            (folder / f"{name}.xml").write_text(xml)
    finally:
        lab.stop()
    return folder


@pytest.fixture(scope="module", params=sorted(EXPECTED_FAILURES))
def run(request, templates, tmp_path_factory):
    template = templates / f"{request.param}.xml"
    proc, report = run_suite(tmp_path_factory.mktemp(request.param), "suites", "--template",
                             str(template))
    return request.param, template, proc, report


def test_the_suite_reaches_the_verdicts_read_from_the_xml(run):
    osinfo, _, proc, report = run
    statuses = {c["id"]: c["status"] for c in report["controls"]}
    failing = EXPECTED_FAILURES[osinfo] | HOST_FAILURES
    assert statuses == {cid: "fail" if cid in failing else "pass" for cid in VANTAGES}, \
        proc.stdout[-3000:]


def test_what_the_host_cannot_run_is_adapted_and_recorded(run):
    """virt-install writes domain type kvm and the host's CPU where libvirt lists KVM (a
    /dev/kvm, usable or not), type qemu where it does not: only a kvm template needs TCG's
    adaptations."""
    name, template, _, report = run
    adaptations = " ".join(report["run"]["adaptations"])
    written = Domain.from_string(template.read_text())
    needs_tcg = report["host"]["accelerator"] == "tcg" and written.virt_type == "kvm"
    assert ("domain type 'kvm' -> 'qemu'" in adaptations) == needs_tcg, adaptations
    if needs_tcg and written.root.find("cpu[@mode='host-passthrough']") is not None:
        assert "cpu mode 'host-passthrough' removed" in adaptations
    for fitted in FITTED[name]:
        assert fitted in adaptations
    assert report["run"]["guest_boot"] == ("disk" if name == "win11" else "direct")


def test_the_guest_kernel_sees_secure_boot_exactly_where_the_template_asks_for_uefi(run):
    """win11 runs on OVMF's Secure Boot firmware with Microsoft's keys enrolled: the probe
    disk's signed chain booted and the guest kernel locked itself down (the I/O-port reads say
    so); the BIOS templates' guests read their ports."""
    name, _, _, report = run
    evidence = [e for c in report["controls"] if c["id"] == "HV-01" for e in c["evidence"]]
    locked = any("locked down (Secure Boot)" in str(e["observed"]) for e in evidence)
    assert locked == (name == "win11"), evidence


def test_static_verdicts_judge_the_xml_as_given(run):
    """host-passthrough was removed to run under TCG; the template check still fails on it."""
    _, template, _, report = run
    hv07 = next(c for c in report["controls"] if c["id"] == "HV-07")
    declared = [c for c in hv07["checks"] if c["declared"]]
    assert declared and all(c["verdict"] == "fail" for c in declared)
    assert report["template"]["path"] == str(template)


def test_the_static_run_gives_each_real_templates_full_run_verdicts(run, tmp_path):
    _, template, _, report = run
    assert static_support.declared_verdicts(report) == \
        static_support.static_verdicts(template, tmp_path)


def test_a_uefi_loader_this_host_lacks_becomes_its_own_firmware(tmp_path):
    """A template dumped on a RHEL host names RHEL's firmware files: the guest boots on this
    host's OVMF with Secure Boot, as the template's secure loader asked, and the report says so;
    the template's checks still judge the XML as given."""
    hardened = (ROOT / "templates" / "hardened.xml").read_text()
    template = tmp_path / "rhel-uefi.xml"
    # UEFI firmware and the kernel's decompression under it need more than hardened's 256 MiB
    template.write_text(hardened.replace("256</memory>", "1024</memory>").replace(
        "768</hard_limit>", "1536</hard_limit>").replace(
        "<type arch='x86_64' machine='q35'>hvm</type>",
        "<type arch='x86_64' machine='pc-q35-rhel9.2.0'>hvm</type>"
        "<loader readonly='yes' secure='yes' type='pflash'>"
        "/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd</loader>"
        "<nvram template='/usr/share/edk2/ovmf/OVMF_VARS.secboot.fd'>"
        "/var/lib/libvirt/qemu/nvram/rhel_VARS.fd</nvram>"))
    proc, report = run_suite(tmp_path / "report", "suites", "--template", str(template),
                             "--control", "HV-01")
    assert proc.returncode == 0, proc.stdout[-3000:]
    adaptations = " ".join(report["run"]["adaptations"])
    assert "OVMF_CODE.secboot.fd (not on this host) -> this host's UEFI firmware with Secure " \
           "Boot" in adaptations
    assert report["run"]["guest_boot"] == "disk"
    evidence = [e for c in report["controls"] for e in c["evidence"]]
    assert any("locked down (Secure Boot)" in str(e["observed"]) for e in evidence), evidence
