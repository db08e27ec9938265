"""Where SARIF places a finding about a device: on the element that makes it (the SCSI disk that
brings libvirt's LSI adapter, the raw argument, the machine type for its chipset), and on
<devices> for what libvirt adds because the XML leaves it out, never on an element that only
shares a word with the finding."""

import json

from scripts import check_templates

IMPLICIT_LSI = """<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>lsi</name>
  <os><type arch='x86_64' machine='{machine}'>hvm</type></os>
  <devices>
    <controller type='usb' model='none'/>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='/srv/s.img'/>
      <target dev='sda' bus='scsi'/>
    </disk>
    <memballoon model='none'/>
  </devices>
  <qemu:commandline>
    <qemu:arg value='-device'/>
    <qemu:arg value='ati-vga'/>
  </qemu:commandline>
</domain>
"""
IMPLICIT_USB = """<domain type='kvm'>
  <name>usb</name>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>
    <controller type='sata' index='0'/>
    <memballoon model='none'/>
  </devices>
</domain>
"""


def sarif_lines(tmp_path, xml):
    """{(control, first word of the message): the template's line SARIF points at}."""
    (tmp_path / "t.xml").write_text(xml)
    check_templates.main([str(tmp_path / "t.xml"), "--report-dir", str(tmp_path / "r"),
                          "--source-root", str(tmp_path)])
    results = json.loads((tmp_path / "r" / "vmiso.sarif").read_text())["runs"][0]["results"]
    lines = xml.splitlines()
    return {(r["ruleId"], r["message"]["text"].split()[0]):
            lines[r["locations"][0]["physicalLocation"]["region"]["startLine"] - 1].strip()
            for r in results}


def test_an_implicit_lsi_adapter_points_at_the_scsi_disk_that_brings_it(tmp_path):
    lines = sarif_lines(tmp_path, IMPLICIT_LSI.format(machine="q35"))
    assert lines[("HV-09", "lsi53c895a")] == "<disk type='file' device='disk'>"


def test_a_raw_device_points_at_its_argument_for_each_control(tmp_path):
    lines = sarif_lines(tmp_path, IMPLICIT_LSI.format(machine="q35"))
    assert lines[("HV-09", "ati-vga")] == lines[("HV-05", "raw")] == \
        "<qemu:arg value='ati-vga'/>"


def test_a_chipset_device_points_at_the_machine_type(tmp_path):
    lines = sarif_lines(tmp_path, IMPLICIT_LSI.format(machine="pc"))
    assert lines[("HV-09", "isa-fdc")] == "<os><type arch='x86_64' machine='pc'>hvm</type></os>"


def test_a_device_libvirt_adds_for_what_is_left_out_points_at_devices(tmp_path):
    lines = sarif_lines(tmp_path, IMPLICIT_USB)
    assert lines[("HV-09", "qemu-xhci")] == "<devices>"
