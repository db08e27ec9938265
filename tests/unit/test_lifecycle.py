"""Whether a guest's confinement held through a lifecycle step, judged from what the host
showed before it, while it first ran and after the step."""

import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest

from helpers.probes.escape import lifecyclewalk
from helpers.probes.escape.lifecycle import (
    DiskShape,
    State,
    Step,
    Walk,
    disk_shapes,
    image_exposed,
    kept,
    running_drifts,
    stopped_drifts,
)
from helpers.probes.hostfiles import Label
from helpers.template.domxml import Domain

DISK = "/w/disk.qcow2"
ROOT_FILE = Label("0:0", "600", "")
QEMU_FILE = Label("64055:64055", "600", "")
QEMU = "64055:64055 +64055:+64055"
IMAGE = Label("0:0", "644", "system_u:object_r:virt_image_t:s0")
GUEST_IMAGE = Label("107:107", "600", "system_u:object_r:svirt_image_t:s0:c12,c345")
MAC = "52:54:00:aa:bb:cc"


def running(files=None, process=QEMU, filters=None):
    return State({DISK: QEMU_FILE} if files is None else files, process,
                 {MAC: "clean-traffic"} if filters is None else filters)


def test_a_step_that_keeps_everything_shows_no_drift():
    assert running_drifts(running(), running(), (DISK,)) == []


@pytest.mark.parametrize("state, said", [
    (running(process="0:0"), "QEMU runs as 0:0, first as 64055:64055"),
    (running(process=None), "no QEMU process runs the guest"),
    (running(files={DISK: ROOT_FILE}), f"{DISK} is 0:0 600, first 64055:64055 600"),
    (running(files={DISK: None}), f"{DISK} is absent"),
    (running(filters={}), f"NIC {MAC} has no filter binding, first clean-traffic"),
    (running(filters={MAC: "allow-all"}), "has filter allow-all, first clean-traffic"),
])
def test_a_running_guest_drifts_from_its_first_confinement(state, said):
    found = running_drifts(running(), state, (DISK,))
    assert len(found) == 1 and said in found[0], found


def test_vmisos_own_files_are_not_judged_while_it_runs():
    assert running_drifts(running(), running(files={DISK: ROOT_FILE}), ()) == []


@pytest.mark.parametrize("before, after, left", [
    (ROOT_FILE, ROOT_FILE, False),        # given back
    (ROOT_FILE, QEMU_FILE, True),         # left to the guest's uid
    (ROOT_FILE, Label("1000:1000", "600", ""), True),  # a disk's own DAC label, left
    (IMAGE, GUEST_IMAGE, True),           # the guest's own SELinux categories left on it
    (IMAGE, Label("0:0", "644", "system_u:object_r:virt_content_t:s0"), False),  # shared
    (None, QEMU_FILE, False),             # made while it ran
])
def test_a_step_leaves_a_file_under_another_identity(before, after, left):
    assert kept(before, after) == left


def test_a_stopped_guest_with_qemu_still_running_drifts():
    before = State({DISK: ROOT_FILE}, None, {})
    found = stopped_drifts(before, State({DISK: QEMU_FILE}, QEMU, {}), (DISK,))
    assert found == [f"a QEMU process still runs as {QEMU}",
                     f"{DISK} is 64055:64055 600, before the start 0:0 600"]


@pytest.mark.parametrize("label, identity, problem", [
    (ROOT_FILE, "64055:64055", ""),
    (Label("0:0", "644", ""), "64055:64055", "mode 644 lets others than its owner read"),
    (Label("0:0", "640", ""), "0:0", "mode 640"),
    (QEMU_FILE, "64055:64055", "owned by the guest's own identity 64055:64055"),
    (ROOT_FILE, "0:0", ""),  # QEMU as root: root's own file is no one else's
    (None, "0:0", "no such file"),
])
def test_a_save_image_is_its_owners_alone(label, identity, problem):
    found = image_exposed(label, identity)
    assert (problem in found) if problem else found == "", found


def test_a_step_not_done_says_why_and_a_walk_names_each_steps_drifts():
    skipped = Step("internal snapshot and revert", False, "pflash firmware")
    assert skipped.describe() == "internal snapshot and revert: not done: pflash firmware"
    done = Step("save and restore", seen=[("saved", "QEMU not running")], drifts=["x"])
    walk = Walk(running(), running(), (DISK,), [skipped, done])
    assert done.describe() == "save and restore: saved: QEMU not running"
    assert walk.drifts == ["save and restore: x"]


def test_a_state_describes_its_process_files_and_filters():
    text = running().describe()
    assert text == (f"QEMU {QEMU}; files {DISK}: 64055:64055 600; "
                    f"filter bindings {MAC}: clean-traffic")
    assert "QEMU not running" in State({}, None, {}).describe()


def test_a_state_against_another_names_only_the_files_that_differ():
    first = running(files={DISK: QEMU_FILE, "/w/seed": QEMU_FILE})
    later = running(files={DISK: ROOT_FILE, "/w/seed": QEMU_FILE, "/w/save": None})
    assert later.describe(first) == (f"QEMU {QEMU}; files {DISK}: 0:0 600, /w/save: absent, "
                                     f"1 other files as then; filter bindings {MAC}: "
                                     f"clean-traffic")


def test_a_part_of_a_step_left_out_is_said_never_passed():
    step = Step("NIC hotplug and unplug", left_out=["unplug: still plugged after 2 s"])
    assert step.not_done == ["NIC hotplug and unplug: unplug: still plugged after 2 s"]
    assert Step("x", False, "no slot").not_done == ["x: no slot"]
    assert Step("y").not_done == []


DISKS = """<domain><devices>
  <disk device='disk'><source file='/i/boot.qcow2'/><target dev='vda'/></disk>
  <disk device='disk'><source file='/i/iso'/><target dev='vdb'/><readonly/></disk>
  <disk device='disk'><source file='/i/iso2'/><target dev='vdc'/><readonly/></disk>
  <disk device='disk'><source file='/i/shared'><seclabel model='dac' relabel='no'/></source>
    <target dev='vdd'/><shareable/></disk>
  <disk device='disk'><source file='/w/seed.tar'/><target dev='vdz'/><readonly/>
    <serial>vmiso-seed</serial></disk>
</devices></domain>"""


def test_the_hotplug_tries_each_shape_of_the_templates_disks_once():
    shapes = disk_shapes(Domain.from_string(DISKS))
    assert [s.names for s in shapes] == [(), ("read-only",), ("shareable",)]
    assert shapes[2].seclabels == ('<seclabel model="dac" relabel="no" />',)


def test_a_template_of_writable_disks_hotplugs_one_writable_disk():
    one = "<domain><devices><disk><source file='/a'/><target dev='vda'/></disk></devices></domain>"
    assert disk_shapes(Domain.from_string(one)) == [DiskShape()]


Q35 = """<domain><os><type machine='q35'>hvm</type></os><devices>
  <disk device='disk'><source file='/w/disk.qcow2'/><target dev='vda' bus='virtio'/></disk>
  <interface type='network'><source network='n'/></interface>
</devices></domain>"""


def test_a_q35_guest_gets_a_scsi_controller_and_more_root_ports_than_devices():
    root = ET.fromstring(lifecyclewalk._with_hotplug_room(Q35))
    controllers = [(c.get("type"), c.get("model")) for c in root.findall("devices/controller")]
    assert controllers.count(("scsi", "virtio-scsi")) == 1
    assert controllers.count(("pci", "pcie-root")) == 1
    ports = controllers.count(("pci", "pcie-root-port"))
    assert ports == len(root.find("devices")) - ports + 1  # one more than every other device


def test_an_i440fx_guest_with_its_own_virtio_scsi_gets_no_controller():
    pc = Q35.replace("q35", "pc").replace(
        "</devices>", "<controller type='scsi' model='virtio-scsi'/></devices>")
    root = ET.fromstring(lifecyclewalk._with_hotplug_room(pc))
    assert len(root.findall("devices/controller")) == 1


def test_a_hotplugged_disk_takes_a_free_name_and_unit_and_its_shapes_elements():
    live = ET.fromstring("""<domain><devices>
      <disk><target dev='sdz' bus='scsi'/><address type='drive' controller='1' unit='0'/></disk>
      <disk><target dev='sdy' bus='scsi'/><address type='drive' controller='0' unit='0'/></disk>
    </devices></domain>""")
    shape = DiskShape(False, True, ('<seclabel model="dac" relabel="no" />',))
    xml, dev = lifecyclewalk._scsi_disk(live, "1", "/w/hotplug-2.img", shape)
    disk = ET.fromstring(xml)
    assert dev == "sdx" and disk.find("target").get("dev") == "sdx"
    assert disk.find("address").get("unit") == "1"  # unit 0 of controller 1 is taken
    assert disk.find("shareable") is not None and disk.find("readonly") is None
    assert disk.find("source/seclabel").get("relabel") == "no"


def test_the_failed_starts_option_joins_the_domains_own_qemu_arguments():
    ns = lifecyclewalk.QEMU_NS
    xml = (f"<domain xmlns:qemu='{ns}'><qemu:commandline><qemu:arg value='-S'/>"
           f"</qemu:commandline></domain>")
    root = ET.fromstring(lifecyclewalk._with_option(xml, "-vmiso-no-such-option"))
    lines = root.findall(f"{{{ns}}}commandline")
    assert len(lines) == 1
    assert [a.get("value") for a in lines[0]] == ["-S", "-vmiso-no-such-option"]


def test_the_managed_save_image_is_read_through_the_labs_folders():
    lab = SimpleNamespace(lab=SimpleNamespace(root=Path("/run/vmiso/abc")))
    assert lifecyclewalk._managed_save_path(lab, "g") == \
        "/run/vmiso/abc/lib/libvirt/qemu/save/g.save"
    assert lifecyclewalk._managed_save_path(SimpleNamespace(lab=None), "g") == \
        "/var/lib/libvirt/qemu/save/g.save"

