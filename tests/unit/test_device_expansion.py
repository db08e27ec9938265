"""What libvirt makes of a domain XML, element by element (helpers/template/expansion.py): every
element that makes a QEMU device is modelled, or named by HV-09 as a device vmiso does not model;
none is left out in silence."""

import pytest

from helpers.policy import policyfile
from helpers.template.domxml import Domain
from helpers.template.expansion import Q35_CHIPSET, qemu_devices
from helpers.template.rules import UNMODELLED, findings

ALLOWED = policyfile.read(policyfile.DEFAULT).allowed_devices
NVME_DISK = ("<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
             "<source file='/srv/{0}.img'/><target dev='{0}' bus='nvme'/><serial>s</serial>"
             "</disk>")


def domain(devices, outside=""):
    """A q35 domain with no device of libvirt's choosing: only what `devices` (and the elements
    `outside` <devices>) make."""
    return Domain.from_string(
        f"<domain type='kvm'><name>d</name>{outside}<os><type arch='x86_64' machine='q35'>hvm"
        "</type></os><devices><controller type='usb' model='none'/><memballoon model='none'/>"
        f"{devices}</devices></domain>")


def device_types(devices, outside=""):
    return {d.qemu_type for d in qemu_devices(domain(devices, outside))} - set(Q35_CHIPSET)


def hv09(devices):
    return findings(domain(devices), ALLOWED)["HV-09"]


def test_the_bare_domain_gives_hv09_nothing():
    assert device_types("") == set() and hv09("") == []


@pytest.mark.parametrize("backend", ["builtin", "lkcf"])
def test_a_virtio_crypto_device_fails_hv09(backend):
    crypto = (f"<crypto model='virtio' type='qemu'><backend model='{backend}' queues='1'/>"
              "</crypto>")
    assert device_types(crypto) == {"virtio-crypto-pci"}
    assert hv09(crypto) == ["virtio-crypto-pci (from crypto)"]


def test_an_nvme_disk_is_a_namespace_on_an_nvme_controller():
    disk = NVME_DISK.format("nvme0n1")
    assert device_types(disk) == {"nvme", "nvme-ns"}
    assert [f.split()[0] for f in hv09(disk)] == ["nvme", "nvme-ns"]
    assert findings(domain(disk))["HV-04"] == ["disk nvme0n1 on emulated bus nvme"]


def test_an_nvme_controller_alone_fails_hv04_and_hv09():
    controller = "<controller type='nvme' index='0'><serial>s</serial></controller>"
    assert device_types(controller) == {"nvme"}
    assert findings(domain(controller))["HV-04"] == ["NVMe controller 0"]
    assert hv09(controller) == ["nvme (from NVMe controller)"]


def test_nvme_disks_are_namespaces_of_the_controller_the_xml_names():
    devices = ("<controller type='nvme' index='0'/>" + NVME_DISK.format("nvme0n1")
               + NVME_DISK.format("nvme0n2"))
    made = [d.qemu_type for d in qemu_devices(domain(devices))]
    assert made.count("nvme") == 1 and made.count("nvme-ns") == 2


# Elements (or kinds of them) the expansion left out before, as libvirt 9.0 makes them.
MODELLED = [
    ("<memory model='dimm'><target><size unit='KiB'>524288</size><node>0</node></target>"
     "</memory>", "pc-dimm"),
    ("<memory model='virtio-mem'><target><size unit='KiB'>524288</size><node>0</node>"
     "<block unit='KiB'>2048</block></target></memory>", "virtio-mem-pci"),
    ("<iommu model='intel'/>", "intel-iommu"),
    ("<iommu model='virtio'/>", "virtio-iommu-pci"),
    ("<controller type='pci' model='pcie-to-pci-bridge'/>", "pcie-pci-bridge"),
    ("<controller type='pci' model='dmi-to-pci-bridge'/>", "i82801b11-bridge"),
    ("<controller type='pci' model='pcie-root-port'><model name='ioh3420'/></controller>",
     "ioh3420"),
    ("<controller type='ccid'/>", "usb-ccid"),
    ("<panic/>", "pvpanic"),  # libvirt's model on x86: isa
    ("<smartcard mode='host-certificates'><certificate>a</certificate><certificate>b"
     "</certificate><certificate>c</certificate></smartcard>", "ccid-card-emulated"),
    ("<hostdev mode='subsystem' type='scsi_host'><source protocol='vhost' "
     "wwpn='naa.5123456789abcde0'/></hostdev>", "vhost-scsi-pci"),
    ("<hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host0'/>"
     "<address bus='0' target='0' unit='0'/></source></hostdev>", "lsi53c895a"),
    ("<console type='pty'/>", "isa-serial"),  # no <serial>: the console becomes serial port 0
    ("<disk type='vhostuser' device='disk'><source type='unix' path='/run/blk.sock'/>"
     "<target dev='vda' bus='virtio'/></disk>", "vhost-user-blk-pci"),
    ("<disk type='file' device='disk' model='virtio-transitional'><source file='/srv/t.img'/>"
     "<target dev='vda' bus='virtio'/></disk>", "virtio-blk-pci-transitional"),
    ("<rng model='virtio-non-transitional'><backend model='random'>/dev/urandom</backend>"
     "</rng>", "virtio-rng-pci-non-transitional"),
    ("<serial type='pty'><target type='isa-debug'/></serial>", "isa-debugcon"),
    ("<hostdev mode='subsystem' type='mdev' model='vfio-pci' display='on' ramfb='on'><source>"
     "<address uuid='53764d0e-85a0-42b4-af5c-2046b460b1dc'/></source></hostdev>",
     "vfio-pci-nohotplug"),
]


@pytest.mark.parametrize("devices, qemu_type", MODELLED)
def test_each_element_libvirt_makes_a_device_of_is_modelled(devices, qemu_type):
    assert qemu_type in device_types(devices)


@pytest.mark.parametrize("outside, qemu_type", [
    ("<genid>e9392370-2917-565e-692b-d057f46512d6</genid>", "vmgenid"),
    ("<features><vmcoreinfo/></features>", "vmcoreinfo"),
])
def test_elements_outside_devices_make_their_devices_too(outside, qemu_type):
    assert device_types("", outside) == {qemu_type}


# Elements, or kinds of them, vmiso does not model, and the start tag HV-09 names.
UNMODELLED_XML = {
    "<nvram><address type='spapr-vio' reg='0x3000'/></nvram>": "<nvram>",
    "<iommu model='smmuv3'/>": "<iommu model='smmuv3'>",
    "<memory model='cxl'/>": "<memory model='cxl'>",
    "<watchdog model='diag288' action='poweroff'/>":
        "<watchdog model='diag288' action='poweroff'>",
    "<controller type='cxl' index='0'/>": "<controller type='cxl' index='0'>",
    "<controller type='pci' model='pcie-future-port'/>":
        "<controller type='pci' model='pcie-future-port'>",
    "<disk type='file' device='disk'><source file='/srv/m.img'/><target dev='mmcblk0' bus='sd'/>"
    "</disk>": "<disk type='file' device='disk'>",
    "<input type='tablet' bus='ps2'/>": "<input type='tablet' bus='ps2'>",
    "<hostdev mode='capabilities' type='storage'><source><block>/dev/sdf1</block></source>"
    "</hostdev>": "<hostdev mode='capabilities' type='storage'>",
    "<channel type='pty'/>": "<channel type='pty'>",  # no target: no port vmiso knows
    "<sound model='sb32'/>": "<sound model='sb32'>",
    "<serial type='pty'><target type='sclp-serial'/></serial>": "<serial type='pty'>",
    "<pstore backend='acpi-erst' index='0'><path>/srv/erst</path><size unit='KiB'>8</size>"
    "</pstore>": "<pstore backend='acpi-erst' index='0'>",  # libvirt 10.6
}


@pytest.mark.parametrize("devices", sorted(UNMODELLED_XML))
def test_hv09_names_each_device_vmiso_does_not_model(devices):
    assert UNMODELLED.format(UNMODELLED_XML[devices]) in hv09(devices)


@pytest.mark.parametrize("devices", [
    "<graphics type='vnc'/><video><model type='none'/></video>",
    "<input type='mouse' bus='ps2'/><input type='keyboard' bus='ps2'/>",
    "<input type='evdev'><source dev='/dev/input/event1'/></input>",
    "<controller type='pci' model='pcie-root'/><controller type='sata' index='0'/>",
    "<panic model='hyperv'/>",
    "<sound model='pcspk'/><audio id='1' type='none'/>",
    "<emulator>/usr/bin/qemu-system-x86_64</emulator>",
    "<redirfilter><usbdev allow='no'/></redirfilter>",
    "<lease><lockspace>s</lockspace><key>k</key><target path='/srv/lease'/></lease>",
    "<channel type='unix'><target type='guestfwd' address='10.0.2.1' port='4600'/></channel>",
])
def test_elements_that_make_no_device_give_hv09_nothing(devices):
    assert hv09(devices) == []
