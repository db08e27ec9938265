"""Drift: the template declares no sound device, yet the guest has one (added behind libvirt's
back through qemu:commandline, booted as given with --allow-raw-qemu). HV-03 must come out
drift, which fails the run."""

from tests.support.suite import ROOT, run_suite, statuses

HIDDEN_SOUND = """
  <qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
    <qemu:arg value='-device'/>
    <qemu:arg value='ich9-intel-hda,bus=pcie.0,addr=0x1f.4'/>
  </qemu:commandline>
</domain>"""


def test_sound_card_hidden_from_the_xml_is_drift(tmp_path):
    hardened = (ROOT / "templates" / "hardened.xml").read_text()
    template = tmp_path / "hidden-sound.xml"
    template.write_text(hardened.replace("</domain>", HIDDEN_SOUND))
    proc, report = run_suite(tmp_path / "report", "--template", str(template), "--allow-raw-qemu",
                             "suites/test_template.py", "suites/test_hypervisor_surface.py",
                             "-k", "HV-03 or sound")
    hv03 = next(c for c in report["controls"] if c["id"] == "HV-03")
    assert statuses(report)["HV-03"] == "drift", proc.stdout[-2000:]
    assert {c["verdict"] for c in hv03["checks"] if c["declared"]} == {"pass"}
    assert {c["verdict"] for c in hv03["checks"] if not c["declared"]} == {"fail"}
    assert proc.returncode != 0
