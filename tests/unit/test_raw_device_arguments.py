"""Devices a template adds past libvirt (<qemu:commandline> -device): each breaks the control its
QEMU type is the surface of, as the element libvirt would make it from does, and the finding
names the raw argument."""

import pytest

from helpers.template.domxml import Domain
from helpers.template.rules import findings

QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"


def domain(devices="", raw=None):
    """A q35 domain with a virtio disk and `devices`; `raw`: a -device argument past libvirt."""
    args = "" if raw is None else \
        f"<qemu:commandline><qemu:arg value='-device'/><qemu:arg value='{raw}'/></qemu:commandline>"
    return Domain.from_string(
        f"<domain type='kvm' xmlns:qemu='{QEMU_NS}'><name>r</name><os>"
        "<type arch='x86_64' machine='q35'>hvm</type></os><devices>"
        "<disk type='file' device='disk'><source file='/srv/r.img'/>"
        f"<target dev='vda' bus='virtio'/></disk>{devices}</devices>{args}</domain>")


# (raw -device argument, the <video> libvirt makes the same card from; None: it makes none)
VIDEO_TWINS = [
    ("VGA", "<video><model type='vga'/></video>"),
    ("cirrus-vga,id=v0", "<video><model type='cirrus'/></video>"),
    ("qxl-vga", "<video><model type='qxl'/></video>"),
    ("vmware-svga", "<video><model type='vmvga'/></video>"),
    ("virtio-vga-gl", "<video><model type='virtio'><acceleration accel3d='yes'/></model></video>"),
    ("virtio-vga", "<video><model type='virtio'/></video>"),
    ("bochs-display", "<video><model type='bochs'/></video>"),
    ("ramfb", "<video><model type='ramfb'/></video>"),
]


@pytest.mark.parametrize("raw, video", VIDEO_TWINS)
def test_a_raw_video_card_gets_the_verdict_of_its_video_element(raw, video):
    found = findings(domain(raw=raw))["HV-05"]
    assert bool(found) is bool(findings(domain(video))["HV-05"])
    assert found in ([], [f"raw QEMU argument -device {raw}"])


@pytest.mark.parametrize("raw", ["ati-vga", "secondary-vga", "qxl", "isa-vga",
                                 '{"driver":"ati-vga","id":"v0"}', "driver=cirrus-vga,id=v0"])
def test_a_raw_emulated_video_card_fails_hv05_naming_the_argument(raw):
    assert findings(domain(raw=raw))["HV-05"] == [f"raw QEMU argument -device {raw}"]


@pytest.mark.parametrize("raw", ["virtio-gpu-pci", "virtio-net-pci,netdev=n0", "virtio-blk-pci"])
def test_a_raw_paravirtual_device_breaks_neither_hv04_nor_hv05(raw):
    found = findings(domain(raw=raw))
    assert found["HV-04"] == found["HV-05"] == []


# (raw -device argument, the element libvirt makes the same device from)
NIC_AND_DISK_TWINS = [
    ("e1000,netdev=n0", "<interface type='user'><model type='e1000'/></interface>"),
    ("rtl8139", "<interface type='user'><model type='rtl8139'/></interface>"),
    ("ide-hd,drive=d0", "<disk type='file'><source file='/srv/i.img'/>"
                        "<target dev='hda' bus='ide'/></disk>"),
    ("usb-storage", "<disk type='file'><source file='/srv/u.img'/>"
                    "<target dev='sdb' bus='usb'/></disk>"),
    ("megasas", "<controller type='scsi' model='lsisas1078'/>"),
    ("nvme,serial=s0", "<controller type='nvme'/>"),
]


@pytest.mark.parametrize("raw, element", NIC_AND_DISK_TWINS)
def test_a_raw_emulated_nic_or_disk_fails_hv04_as_its_element_does(raw, element):
    assert findings(domain(element))["HV-04"]
    assert findings(domain(raw=raw))["HV-04"] == [f"raw QEMU argument -device {raw}"]
