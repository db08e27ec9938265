"""Risk 1, hypervisor attack surface: emulated devices a guest can poke at must be absent."""

import pytest

from helpers import analysis, probes, qmp

FDC_STATUS_PORT = 0x3F4
USB_PCI_CLASS = "0c03"


@pytest.mark.control("HV-01")
@pytest.mark.outside
def test_template_has_no_floppy_controller(template, evidence):
    found = analysis.floppy(template)
    evidence.expect_none("template: floppy disks and i440fx machine", found)


@pytest.mark.control("HV-01")
@pytest.mark.outside
def test_qemu_instantiated_no_floppy_controller(guest, evidence):
    found = analysis.qtree_surface("HV-01", qmp.qtree_devices(guest.domain))
    evidence.expect_none("QMP info qtree: floppy controller devices", found)


@pytest.mark.control("HV-01")
@pytest.mark.inside
def test_no_floppy_controller_answers_in_guest(guest, evidence):
    status = probes.read_io_port(guest, FDC_STATUS_PORT)
    evidence.check("FDC main status register (inb 0x3f4)", status, "ff (nothing decodes it)",
                   status == "ff")
    drives = [d for d in probes.list_dir(guest, "/dev") if d.startswith("fd") and d != "fd"]
    evidence.expect_none("floppy block devices in /dev", drives)


@pytest.mark.control("HV-02")
@pytest.mark.outside
def test_template_has_no_usb(template, evidence):
    found = analysis.usb(template)
    evidence.expect_none("template: USB controllers and devices", found)


@pytest.mark.control("HV-02")
@pytest.mark.outside
def test_running_domain_has_no_usb(guest, evidence):
    found = analysis.usb(guest.live)
    evidence.expect_none("libvirt live XML (implicit devices included): USB", found)
    devices = analysis.qtree_surface("HV-02", qmp.qtree_devices(guest.domain))
    evidence.expect_none("QMP info qtree: USB devices", devices)


@pytest.mark.control("HV-02")
@pytest.mark.inside
def test_guest_sees_no_usb(guest, evidence):
    controllers = [f"{d.slot} {d.vendor}:{d.device}" for d in probes.pci_devices(guest)
                   if d.pci_class.startswith(USB_PCI_CLASS)]
    evidence.expect_none("PCI functions of class 0c03 (USB host controller)", controllers)
    usb = probes.list_dir(guest, "/sys/bus/usb/devices")
    evidence.check("/sys/bus/usb/devices", usb, "empty", not usb)
