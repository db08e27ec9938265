"""Instantiating a template into a throwaway guest keeps its hardware shape."""

import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from helpers.template import throwaway
from helpers.template.domxml import Domain, TemplateError
from helpers.template.rules import findings
from helpers.template.throwaway import Throwaway, instantiate

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
BUILT_IN = ["hardened", "leaky"]
MAC = "52:54:00:12:34:56"


def template(name):
    return Domain.from_string((TEMPLATES / f"{name}.xml").read_text())


@pytest.fixture
def spec(tmp_path):
    return Throwaway(name="vmiso-t1", mac=MAC, overlay=tmp_path / "overlay.qcow2",
                     seed=tmp_path / "seed.tar", network="vmiso-net", scratch_dir=tmp_path,
                     accelerator="kvm", share_dirs={"hostshare": tmp_path / "share"},
                     allow_raw_qemu=True)  # the built-in templates keep their raw QEMU


def guest(name, spec):
    return guest_of(template(name), spec)


def guest_of(dom, spec):
    xml, adaptations = instantiate(dom, spec)
    return ET.fromstring(xml), adaptations


def device_tags(root):
    return Counter(child.tag for child in root.find("devices"))


@pytest.mark.parametrize("name", BUILT_IN)
def test_name_and_a_fresh_uuid_are_substituted(name, spec):
    root, _ = guest(name, spec)
    assert root.findtext("name") == "vmiso-t1"
    uuid.UUID(root.findtext("uuid"))
    assert root.findtext("uuid") != guest(name, spec)[0].findtext("uuid")


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_interface_is_on_the_given_network_with_the_given_mac(name, spec):
    root, _ = guest(name, spec)
    interfaces = [i for i in root.findall("devices/interface") if i.get("type") != "user"]
    assert interfaces
    for iface in interfaces:
        assert iface.get("type") == "network"
        assert [s.attrib for s in iface.findall("source")] == [{"network": "vmiso-net"}]
    assert interfaces[0].find("mac").get("address") == MAC


def test_user_mode_interfaces_stay_user_mode_after_the_network_ones(spec):
    dom = template("hardened")
    dom.root.find("devices").insert(0, ET.fromstring("<interface type='user'/>"))
    root, _ = guest_of(dom, spec)
    interfaces = root.findall("devices/interface")
    user = [i for i in interfaces if i.get("type") == "user"]
    assert len(user) == 1 and user[0].find("source") is None
    network = next(i for i in interfaces if i.get("type") == "network")
    assert network.find("mac").get("address") == MAC
    assert user[0].find("mac").get("address") != MAC


def with_second_interface(dom):
    dom.root.find("devices").append(ET.fromstring(
        "<interface type='bridge'><source bridge='br0'/><mac address='52:54:00:aa:bb:cc'/>"
        "<filterref filter='f2'/></interface>"))
    return dom


def test_extra_interfaces_move_to_the_given_network_and_keep_their_filter(spec):
    xml, _ = instantiate(with_second_interface(template("hardened")), spec)
    interfaces = ET.fromstring(xml).findall("devices/interface")
    assert [len(i.findall("mac")) for i in interfaces] == [1, 1]
    assert [i.find("source").attrib for i in interfaces] == [{"network": "vmiso-net"}] * 2
    assert [i.find("filterref").get("filter") for i in interfaces] == [
        "vmiso-no-host-access", "f2"]


@pytest.mark.parametrize("mac", [
    "52:54:00:12:34:56",
    "52:54:00:12:34:00",
    "52:54:00:12:34:01",
    "52:54:00:12:34:ff",
])
def test_every_interface_gets_its_own_mac(mac, spec):
    spec.mac = mac
    xml, _ = instantiate(with_second_interface(template("hardened")), spec)
    macs = [i.find("mac").get("address") for i in ET.fromstring(xml).findall("devices/interface")]
    assert macs[0] == mac
    assert len(set(macs)) == 2


@pytest.mark.parametrize("name", BUILT_IN)
def test_first_disk_boots_from_the_qcow2_overlay(name, spec):
    root, _ = guest(name, spec)
    first = root.find("devices/disk")
    assert first.get("type") == "file"
    assert [s.attrib for s in first.findall("source")] == [{"file": str(spec.overlay)}]
    assert first.find("driver").get("type") == "qcow2"


def test_floppy_disk_gets_a_blank_floppy_sized_scratch_file(spec):
    root, _ = guest("leaky", spec)
    floppy = root.find("devices/disk[@device='floppy']")
    image = Path(floppy.find("source").get("file"))
    assert image.parent == spec.scratch_dir
    assert spec.scratch_files[image] == 1474560
    assert floppy.find("driver").get("type") is None  # as leaky gives it: DEV-03 judges that


LEFT_AS_IS = ("<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
              "<source file='/srv/images/shared-data.img'><seclabel model='dac' relabel='no'/>"
              "<seclabel model='selinux' relabel='yes'><label>system_u:object_r:svirt_image_t:"
              "s0</label></seclabel></source><target dev='vdy' bus='virtio'/><readonly/></disk>")


def disk_at(root, dev):
    return next(d for d in root.findall("devices/disk") if d.find("target").get("dev") == dev)


def with_left_as_is(name="hardened"):
    dom = template(name)
    dom.root.find("devices").append(ET.fromstring(LEFT_AS_IS))
    return dom


def test_a_scratch_disk_keeps_its_dac_labels_and_says_which_the_host_cannot_apply(spec):
    dom = with_left_as_is()
    root, adaptations = guest_of(dom, spec)  # a host with DAC alone
    source = disk_at(root, "vdy").find("source")
    assert [label.attrib for label in source] == [{"model": "dac", "relabel": "no"}]
    assert spec.unrelabelled == {Path(source.get("file"))}  # the caller gives it QEMU's user
    assert Domain(root).disks_never_given_back == dom.disks_never_given_back == []
    assert [a for a in adaptations if "seclabel" in a] == [
        "disk vdy: its <source><seclabel model='selinux'> dropped: the host's libvirt has no "
        "selinux security driver, and would refuse the guest"]


def test_a_host_with_the_labels_security_driver_keeps_them_all(spec):
    spec.security_models = ("selinux", "dac")
    root, adaptations = guest_of(with_left_as_is(), spec)
    labels = disk_at(root, "vdy").findall("source/seclabel")
    assert [label.get("model") for label in labels] == ["dac", "selinux"]
    assert labels[1].findtext("label") == "system_u:object_r:svirt_image_t:s0"
    assert not [a for a in adaptations if "seclabel" in a]


def test_the_templates_own_dac_label_names_qemus_user():
    dom = template("hardened")
    assert dom.dac_label == ""  # the host's base label, which libvirt's capabilities give
    dom.root.append(ET.fromstring("<seclabel type='static' model='dac' relabel='yes'>"
                                  "<label> +107:+107 </label></seclabel>"))
    assert dom.dac_label == "+107:+107"


def test_a_scratch_disk_handed_to_a_uid_of_its_own_keeps_that_label(spec):
    root, _ = guest("leaky", spec)  # its shareable disk vdc, labelled +64055:+64055
    labels = disk_at(root, "vdc").findall("source/seclabel")
    assert [(label.get("relabel"), label.findtext("label")) for label in labels] == \
        [("yes", "+64055:+64055")]
    assert not spec.unrelabelled


def test_9p_share_source_becomes_the_given_folder(spec):
    root, _ = guest("leaky", spec)
    share = root.find("devices/filesystem")
    assert share.find("target").get("dir") == "hostshare"
    assert share.find("source").get("dir") == str(spec.share_dirs["hostshare"])


def test_share_without_a_folder_of_the_guests_own_is_removed(spec):
    spec.share_dirs = {}
    root, adaptations = guest("leaky", spec)
    assert root.find("devices/filesystem") is None
    assert any("/srv/share" in a and "removed" in a for a in adaptations)


@pytest.mark.parametrize("name", BUILT_IN)
def test_a_read_only_seed_disk_is_added(name, spec):
    root, _ = guest(name, spec)
    seeds = [d for d in root.findall("devices/disk") if d.findtext("serial") == "vmiso-seed"]
    assert len(seeds) == 1
    assert seeds[0].find("readonly") is not None
    assert seeds[0].find("source").get("file") == str(spec.seed)
    assert seeds[0].find("driver").get("type") == "raw"


@pytest.mark.parametrize("name", BUILT_IN)
def test_tcg_turns_kvm_into_qemu_and_records_it(name, spec):
    spec.accelerator = "tcg"
    root, adaptations = guest(name, spec)
    assert root.get("type") == "qemu"
    assert adaptations[0] == "domain type 'kvm' -> 'qemu' (KVM unusable: TCG)"


@pytest.mark.parametrize("name", BUILT_IN)
def test_kvm_keeps_the_domain_type_without_adaptations(name, spec):
    root, adaptations = guest(name, spec)
    assert root.get("type") == "kvm"
    assert adaptations == []


def without_cpu(name):
    dom = template(name)
    for cpu in dom.root.findall("cpu"):
        dom.root.remove(cpu)
    return dom


def test_tcg_drops_host_passthrough_cpu_mode_and_records_it(spec):
    dom = without_cpu("hardened")
    ET.SubElement(dom.root, "cpu", mode="host-passthrough")
    spec.accelerator = "tcg"
    xml, adaptations = instantiate(dom, spec)
    assert ET.fromstring(xml).find("cpu").get("mode") is None
    assert any("cpu mode 'host-passthrough' removed" in a for a in adaptations)


def test_tcg_keeps_cpu_numa_cells_that_virtiofs_needs(spec):
    dom = without_cpu("hardened")
    dom.root.append(ET.fromstring(
        "<cpu mode='host-passthrough'><numa><cell id='0' cpus='0' memory='256' unit='MiB'"
        " memAccess='shared'/></numa></cpu>"))
    spec.accelerator = "tcg"
    xml, _ = instantiate(dom, spec)
    assert ET.fromstring(xml).findall("cpu/numa/cell[@memAccess='shared']")


@pytest.mark.parametrize("name", BUILT_IN)
@pytest.mark.parametrize("accelerator", ["kvm", "tcg"])
def test_hardware_shape_is_the_templates_plus_one_disk(name, accelerator, spec):
    spec.accelerator = accelerator
    root, _ = guest(name, spec)
    assert device_tags(root) == device_tags(template(name).root) + Counter({"disk": 1})


@pytest.mark.parametrize("name", BUILT_IN)
@pytest.mark.parametrize("accelerator", ["kvm", "tcg"])
def test_instance_breaks_the_same_controls_as_its_template(name, accelerator, spec):
    """...except where the host CPU model, which TCG cannot run, was replaced (the adaptations
    record it; QEMU's default model then still shows svm)."""
    def broken(dom):
        return {control for control, found in findings(dom).items() if found}
    spec.accelerator = accelerator
    root, adaptations = guest(name, spec)
    adapted = {"HV-07"} if any(a.startswith("cpu mode") for a in adaptations) else set()
    assert broken(Domain(root)) ^ broken(template(name)) <= adapted


@pytest.mark.parametrize("name", BUILT_IN)
def test_the_template_itself_is_left_unchanged(name, spec):
    dom = template(name)
    before = dom.to_string()
    instantiate(dom, spec)
    assert dom.to_string() == before


def test_serial_console_is_logged_to_the_scratch_dir(spec):
    root, _ = guest("hardened", spec)
    assert root.find("devices/serial/log").get("file") == str(spec.scratch_dir / "console.log")


@pytest.mark.parametrize("devices", [
    "<interface type='network'/>",
    "<disk type='file' device='cdrom'/><disk type='file' device='floppy'/>",
])
def test_template_without_a_boot_disk_raises_template_error(devices, spec):
    dom = Domain.from_string(f"<domain><name>x</name><devices>{devices}</devices></domain>")
    with pytest.raises(TemplateError, match="no <disk device='disk'>"):
        instantiate(dom, spec)


def test_template_without_devices_raises_template_error(spec):
    with pytest.raises(TemplateError, match="no <devices>"):
        instantiate(Domain.from_string("<domain><name>x</name></domain>"), spec)


@pytest.mark.parametrize("memory, memtune, raised", [
    ("<memory unit='MiB'>256</memory><currentMemory unit='MiB'>256</currentMemory>",
     "<memtune><hard_limit unit='MiB'>768</hard_limit></memtune>", (512, 512, 1024)),
    ("<memory>262144</memory>", "", (512, None, None)),  # KiB, libvirt's default unit
])
def test_a_uefi_probe_boot_gets_the_memory_its_boot_loader_needs(memory, memtune, raised):
    root = ET.fromstring(f"<domain>{memory}{memtune}</domain>")
    change = throwaway.memory_for_boot(root, 512)
    assert change == ["<memory> 256 MiB -> 512 MiB (memtune limits raised as much): the probe "
                      "guest's UEFI boot loader cannot load its kernel in less"]
    read = [None if e is None else (int(e.text), e.get("unit"))
            for e in (root.find(t) for t in ("memory", "currentMemory", "memtune/hard_limit"))]
    assert read == [None if r is None else (r, "MiB") for r in raised]


@pytest.mark.parametrize("xml", [
    "<domain><memory unit='GiB'>1</memory></domain>",  # enough already
    "<domain><memory unit='MiB'>256</memory><cpu><numa><cell id='0' cpus='0' memory='256' "
    "unit='MiB'/></numa></cpu></domain>",  # NUMA cells fix the total: left as given
])
def test_memory_is_left_alone_where_it_suffices_or_cannot_be_raised(xml):
    root = ET.fromstring(xml)
    assert throwaway.memory_for_boot(root, 512) == []
    assert ET.tostring(root) == ET.tostring(ET.fromstring(xml))
