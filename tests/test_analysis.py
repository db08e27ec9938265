"""Static analysis: each risky device flips its own control and no other."""

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.analysis import STATIC, findings, qtree_surface
from helpers.domxml import Domain, TemplateError

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
HARDENED = (TEMPLATES / "hardened.xml").read_text()
LEAKY = (TEMPLATES / "leaky.xml").read_text()


def insert(snippet):
    def mutate(root):
        root.find("devices").append(ET.fromstring(snippet))
    return mutate


def set_machine(machine):
    def mutate(root):
        root.find("os/type").set("machine", machine)
    return mutate


def usb_controllers(root):
    return root.findall("devices/controller[@type='usb']")


def remove_usb_controllers(root):
    devices = root.find("devices")
    for controller in usb_controllers(root):
        devices.remove(controller)


def usb_controller_model(model):
    def mutate(root):
        controllers = usb_controllers(root)
        if not controllers:
            controllers = [ET.SubElement(root.find("devices"), "controller", type="usb")]
        for controller in controllers:
            controller.set("model", model)
    return mutate


def tablet_on_xhci(root):
    usb_controller_model("qemu-xhci")(root)
    insert("<input type='tablet' bus='usb'/>")(root)


def remove_filterrefs(root):
    for iface in root.findall("devices/interface"):
        for ref in iface.findall("filterref"):
            iface.remove(ref)


# name -> (mutation of the hardened domain, the control it breaks or None for a harmless one)
DEVICES = {
    "floppy disk": (insert(
        "<disk type='file' device='floppy'><source file='/tmp/f.img'/>"
        "<target dev='fda' bus='fdc'/></disk>"), "HV-01"),
    "machine pc": (set_machine("pc"), "HV-01"),
    "machine pc-i440fx-7.2": (set_machine("pc-i440fx-7.2"), "HV-01"),
    "no usb controller (implicit one)": (remove_usb_controllers, "HV-02"),
    "qemu-xhci controller": (usb_controller_model("qemu-xhci"), "HV-02"),
    "usb tablet on qemu-xhci": (tablet_on_xhci, "HV-02"),
    "usb redirdev": (insert("<redirdev bus='usb' type='spicevmc'/>"), "HV-02"),
    "usb hostdev": (insert(
        "<hostdev mode='subsystem' type='usb'><source><vendor id='0x1234'/>"
        "<product id='0xbeef'/></source></hostdev>"), "HV-02"),
    "usb disk": (insert(
        "<disk type='file' device='disk'><source file='/tmp/u.img'/>"
        "<target dev='sdb' bus='usb'/></disk>"), "HV-02"),
    "9p share": (insert(
        "<filesystem type='mount' accessmode='mapped'><source dir='/srv/share'/>"
        "<target dir='hostshare'/></filesystem>"), "SHR-01"),
    "virtiofs share": (insert(
        "<filesystem type='mount'><driver type='virtiofs'/><source dir='/srv/fs'/>"
        "<target dir='fs'/></filesystem>"), "SHR-01"),
    "webdav channel": (insert(
        "<channel type='spiceport'><source channel='org.spice-space.webdav.0'/>"
        "<target type='virtio' name='org.spice-space.webdav.0'/></channel>"), "SHR-01"),
    "qemu-vdagent channel": (insert(
        "<channel type='qemu-vdagent'><source><clipboard copypaste='yes'/></source>"
        "<target type='virtio' name='com.redhat.spice.0'/></channel>"), "SHR-02"),
    "spicevmc channel": (insert(
        "<channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/></channel>"),
        "SHR-02"),
    "spice graphics, clipboard unset": (insert("<graphics type='spice' autoport='yes'/>"),
                                        "SHR-02"),
    "spice graphics, copypaste yes": (insert(
        "<graphics type='spice'><clipboard copypaste='yes'/></graphics>"), "SHR-02"),
    "interface without filterref": (insert(
        "<interface type='network'><source network='default'/><model type='virtio'/>"
        "</interface>"), "NET-01"),
    "filterref removed": (remove_filterrefs, "NET-01"),
    "spice graphics, copypaste and file transfer off": (insert(
        "<graphics type='spice'><clipboard copypaste='no'/><filetransfer enable='no'/>"
        "</graphics>"), None),
    "spice graphics, file transfer unset": (insert(
        "<graphics type='spice'><clipboard copypaste='no'/></graphics>"), "SHR-02"),
    "vnc graphics": (insert("<graphics type='vnc' listen='127.0.0.1'/>"), None),
    "guest agent channel": (insert(
        "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"),
        None),
    "second virtio disk": (insert(
        "<disk type='file' device='disk'><source file='/tmp/d.img'/>"
        "<target dev='vdb' bus='virtio'/></disk>"), None),
    "filtered interface": (insert(
        "<interface type='network'><source network='default'/>"
        "<filterref filter='vmiso-no-host-access'/></interface>"), None),
    "virtio rng": (insert("<rng model='virtio'><backend model='random'>/dev/urandom</backend>"
                          "</rng>"), None),
}


def broken_controls(dom):
    return {control for control, found in findings(dom).items() if found}


def mutated_hardened(names):
    root = ET.fromstring(HARDENED)
    for name in names:
        DEVICES[name][0](root)
    return Domain(root)


def test_hardened_template_has_no_findings_for_any_control():
    assert findings(Domain.from_string(HARDENED)) == {control: [] for control in STATIC}


@pytest.mark.parametrize("name", sorted(DEVICES))
def test_each_device_alone_breaks_only_its_control(name):
    control = DEVICES[name][1]
    assert broken_controls(mutated_hardened([name])) == ({control} if control else set())


@settings(max_examples=300)
@given(st.lists(st.sampled_from(sorted(DEVICES)), unique=True))
def test_any_set_of_devices_breaks_exactly_their_controls(names):
    expected = {DEVICES[name][1] for name in names} - {None}
    assert broken_controls(mutated_hardened(names)) == expected


def test_leaky_template_breaks_all_five_static_controls():
    assert broken_controls(Domain.from_string(LEAKY)) == set(STATIC)
    assert set(STATIC) == {"HV-01", "HV-02", "SHR-01", "SHR-02", "NET-01"}


def test_i440fx_finding_names_the_machine():
    assert findings(mutated_hardened(["machine pc-i440fx-7.2"]))["HV-01"] == [
        "machine 'pc-i440fx-7.2' is i440fx, which always has an isa-fdc"]


def test_versioned_q35_machine_is_not_i440fx():
    root = ET.fromstring(HARDENED)
    set_machine("pc-q35-7.2")(root)
    assert findings(Domain(root))["HV-01"] == []


def test_isapc_machine_breaks_hv01():
    root = ET.fromstring(HARDENED)
    set_machine("isapc")(root)
    assert findings(Domain(root))["HV-01"]


def test_missing_os_type_means_libvirt_default_pc():
    root = ET.fromstring(HARDENED)
    root.find("os").remove(root.find("os/type"))
    assert Domain(root).machine == "pc"
    assert findings(Domain(root))["HV-01"]


@pytest.mark.parametrize("text", ["", "<domain>", "<domain><name>x</domain>", "not xml at all"])
def test_malformed_xml_raises_template_error(text):
    with pytest.raises(TemplateError, match="not well-formed XML"):
        Domain.from_string(text)


def test_non_domain_root_raises_template_error_naming_it():
    with pytest.raises(TemplateError, match="<network>"):
        Domain.from_string("<network><name>default</name></network>")


@pytest.mark.parametrize("control, devices, surface", [
    ("HV-01", {"isa-fdc", "virtio-blk-pci", "isa-fdc-extra"}, ["isa-fdc"]),
    ("HV-01", {"sysbus-fdc", "SUNW,fdtwo"}, ["SUNW,fdtwo", "sysbus-fdc"]),
    ("HV-02", {"qemu-xhci", "usb-tablet", "ICH9-USB-UHCI1", "virtio-net-pci"},
     ["ICH9-USB-UHCI1", "qemu-xhci", "usb-tablet"]),
    ("SHR-01", {"virtio-9p-pci", "vhost-user-fs-pci", "virtio-blk-pci"},
     ["vhost-user-fs-pci", "virtio-9p-pci"]),
    ("SHR-01", set(), []),
])
def test_qtree_surface_picks_the_controls_device_types(control, devices, surface):
    assert qtree_surface(control, devices) == surface
