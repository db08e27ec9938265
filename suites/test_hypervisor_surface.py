"""Risk 1, hypervisor attack surface: emulated devices a guest could poke at are absent, as
the guest sees its hardware (I/O ports, PCI functions). The template and QEMU's own device tree
are checked for every control in test_template.py."""

import pytest

from helpers.template import rules
from helpers.vm import probes
from helpers.vm.probes import FDC_STATUS_PORT, PARALLEL_PORTS

USB_PCI_CLASS = "0c03"
AUDIO_PCI_CLASSES = ("0401", "0403")
NIC_PCI_CLASS = "0200"
VIRTIO_NICS = {("1af4", "1000"), ("1af4", "1041")}
DISPLAY_PCI_CLASS = "03"
EMULATED_DISPLAY_VENDORS = {"1013": "cirrus", "1b36": "qxl", "1234": "std VGA", "15ad": "vmware"}


def functions(devices, keep):
    return [f"{d.slot} {d.vendor}:{d.device} class {d.pci_class}" for d in devices if keep(d)]


@pytest.mark.control("HV-01")
@pytest.mark.inside
def test_no_floppy_controller_answers_in_guest(guest, evidence):
    status = probes.read_io_port(guest, FDC_STATUS_PORT)
    evidence.check("FDC main status register (inb 0x3f4)", status, "ff (nothing decodes it)",
                   status == "ff")
    drives = [d for d in probes.dev_entries(guest) if d.startswith("fd") and d != "fd"]
    evidence.expect_none("floppy block devices in /dev", drives)


@pytest.mark.control("HV-02")
@pytest.mark.outside
def test_running_domain_has_no_usb(guest, evidence):
    evidence.expect_none("libvirt live XML (implicit devices included): USB",
                         rules.usb(guest.live))


@pytest.mark.control("HV-02")
@pytest.mark.inside
def test_guest_sees_no_usb(guest, evidence):
    pci = probes.pci_devices(guest)
    evidence.expect_none("PCI functions of class 0c03 (USB host controller)",
                         functions(pci, lambda d: d.pci_class.startswith(USB_PCI_CLASS)))
    usb = probes.usb_devices(guest)
    evidence.check("/sys/bus/usb/devices", usb, "empty", not usb)


@pytest.mark.control("HV-03")
@pytest.mark.inside
def test_guest_sees_no_sound_device(guest, evidence):
    evidence.expect_none("PCI functions of class 0401/0403 (audio)",
                         functions(probes.pci_devices(guest),
                                   lambda d: d.pci_class.startswith(AUDIO_PCI_CLASSES)))


@pytest.mark.control("HV-04")
@pytest.mark.inside
def test_guest_nics_are_all_virtio(guest, evidence):
    nics = functions(probes.pci_devices(guest), lambda d: d.pci_class.startswith(NIC_PCI_CLASS)
                     and (d.vendor, d.device) not in VIRTIO_NICS)
    evidence.expect_none("Ethernet PCI functions other than virtio-net (1af4:1000/1041)", nics)


@pytest.mark.control("HV-05")
@pytest.mark.inside
def test_guest_sees_no_emulated_video(guest, evidence):
    displays = functions(probes.pci_devices(guest),
                         lambda d: d.pci_class.startswith(DISPLAY_PCI_CLASS)
                         and d.vendor in EMULATED_DISPLAY_VENDORS)
    evidence.expect_none("display PCI functions from cirrus/qxl/std-VGA/vmware vendors", displays)


@pytest.mark.control("HV-06")
@pytest.mark.inside
def test_no_parallel_port_answers_in_guest(guest, evidence):
    answering = [f"{port:#x}={value}" for port in PARALLEL_PORTS
                 if (value := probes.read_io_port(guest, port)) != "ff"]
    evidence.expect_none("parallel port data registers (inb 0x378, 0x278, 0x3bc) not ff",
                         answering)


@pytest.mark.control("HV-07")
@pytest.mark.inside
def test_guest_cpu_has_no_virtualization_extensions(guest, evidence):
    flags = probes.cpu_flags(guest)
    evidence.expect_none("vmx/svm in the guest's /proc/cpuinfo flags",
                         sorted({"vmx", "svm"} & flags))
