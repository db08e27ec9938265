"""Risk 1, hypervisor attack surface: emulated devices a guest could poke at are absent, as
the guest sees its hardware (I/O ports, PCI functions), and the host's KVM offering no nested
virtualization. The template and QEMU's own device tree are checked for every control in
test_template.py."""

import pytest

from helpers.hostconfig import kernel
from helpers.template import rules
from helpers.verdict.undecided import Undecided
from helpers.vm import probes
from helpers.vm.probes import FDC_PNP_IDS, FDC_STATUS_PORT, PARALLEL_PNP_IDS, PARALLEL_PORTS

USB_PCI_CLASS = "0c03"
AUDIO_PCI_CLASSES = ("0401", "0403")
NIC_PCI_CLASS = "0200"
VIRTIO_NICS = {("1af4", "1000"), ("1af4", "1041")}
DISPLAY_PCI_CLASS = "03"
EMULATED_DISPLAY_VENDORS = {"1013": "cirrus", "1b36": "qxl", "15ad": "vmware", "1002": "ati"}
# QEMU's std VGA and bochs-display share 1234:1111; only the VGA one decodes the legacy VGA ranges.
STD_VGA = ("1234", "0300")


def port_values(guest, evidence, what, ports):
    """{port: value} read with inb(); {} (noted) where the guest kernel is locked down, as under
    Secure Boot, and only the firmware's description of the devices can be read."""
    try:
        return {port: probes.read_io_port(guest, port) for port in ports}
    except Undecided:
        if not probes.locked_down(guest):
            raise
    evidence.note(what, "not readable: the guest kernel is locked down (Secure Boot)",
                  "the devices the firmware describes decide")
    return {}


def functions(devices, keep):
    return [f"{d.slot} {d.vendor}:{d.device} class {d.pci_class}" for d in devices if keep(d)]


@pytest.mark.control("HV-01")
@pytest.mark.inside
def test_no_floppy_controller_answers_in_guest(guest, evidence):
    evidence.expect_none("floppy controllers the firmware describes (PnP PNP0700)",
                         sorted(probes.pnp_ids(guest) & FDC_PNP_IDS))
    what = "FDC main status register (inb 0x3f4)"
    for status in port_values(guest, evidence, what, [FDC_STATUS_PORT]).values():
        evidence.check(what, status, "ff (nothing decodes it)", status == "ff")
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
                         and (d.vendor in EMULATED_DISPLAY_VENDORS
                              or (d.vendor, d.pci_class[:4]) == STD_VGA))
    evidence.expect_none("display PCI functions of cirrus/qxl/vmware/ati, or QEMU's std VGA "
                         "(1234 class 0300)", displays)


@pytest.mark.control("HV-06")
@pytest.mark.inside
def test_no_parallel_port_answers_in_guest(guest, evidence):
    evidence.expect_none("parallel ports the firmware describes (PnP PNP0400/PNP0401)",
                         sorted(probes.pnp_ids(guest) & PARALLEL_PNP_IDS))
    what = "parallel port data registers (inb 0x378, 0x278, 0x3bc) not ff"
    values = port_values(guest, evidence, what, PARALLEL_PORTS)
    if values:
        evidence.expect_none(what, [f"{port:#x}={value}" for port, value in values.items()
                                    if value != "ff"])


@pytest.mark.control("HV-07")
@pytest.mark.inside
def test_guest_cpu_has_no_virtualization_extensions(guest, evidence):
    flags = probes.cpu_flags(guest)
    evidence.expect_none("vmx/svm in the guest's /proc/cpuinfo flags",
                         sorted({"vmx", "svm"} & flags))


@pytest.mark.control("HV-10")
@pytest.mark.outside
def test_host_kvm_offers_no_nested_virtualization(target, evidence):
    parameters = kernel.nested_kvm(target.hypervisor)
    evidence.note("KVM modules loaded on the host, with their nested parameter",
                  [f"{m}: nested={v}" for m, v in sorted(parameters.items())]
                  or "neither kvm_intel nor kvm_amd: no nested virtualization to offer",
                  "nested off")
    evidence.expect_none(f"KVM modules with nested virtualization on "
                         f"({kernel.MODULES}/*/parameters/nested)",
                         kernel.nested_enabled(parameters))
