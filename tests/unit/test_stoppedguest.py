"""What libvirt gave back at a guest's stop, judged from the files' labels."""

from types import SimpleNamespace

import pytest

from helpers.probes.escape.stoppedguest import HostFile
from helpers.probes.hostfiles import Label, labels
from helpers.template.domxml import Domain
from helpers.verdict.undecided import Undecided

ROOT_FILE = Label("0:0", "600", "")
QEMU_FILE = Label("64055:64055", "600", "")
IMAGE = Label("0:0", "644", "system_u:object_r:virt_image_t:s0")
GUEST_IMAGE = Label("107:107", "644", "system_u:object_r:svirt_image_t:s0:c12,c345")
SHARED = Label("107:107", "644", "system_u:object_r:virt_content_t:s0")


@pytest.mark.parametrize("before, running, after, relabelled, kept", [
    (ROOT_FILE, QEMU_FILE, ROOT_FILE, True, False),   # a writable disk, given back
    (ROOT_FILE, QEMU_FILE, QEMU_FILE, True, True),    # a read-only disk, kept
    (QEMU_FILE, QEMU_FILE, QEMU_FILE, False, False),  # already QEMU's: nothing changed
    (IMAGE, GUEST_IMAGE, IMAGE, True, False),
    (IMAGE, GUEST_IMAGE, GUEST_IMAGE, True, True),    # the guest's own categories left on it
    (Label("107:107", "644", IMAGE.context), SHARED, SHARED, True, False),  # shared: harmless
    (None, QEMU_FILE, QEMU_FILE, False, False),       # made while it ran: not a file it took
])
def test_a_file_is_kept_when_its_owner_or_the_guests_categories_stay(before, running, after,
                                                                     relabelled, kept):
    found = HostFile("disk vdb", "/srv/d.img", before, running, after)
    assert (found.relabelled, found.kept) == (relabelled, kept)


def test_vmisos_own_files_are_never_judged():
    assert not HostFile("read-only disk vdz", "/seed", ROOT_FILE, QEMU_FILE, QEMU_FILE,
                        judged=False).kept


def test_stat_lines_become_labels():
    out = ("/g/disk.qcow2|0:0|600|?\n/g/a|b.img|64055:64055|600|"
           "system_u:object_r:svirt_image_t:s0:c1,c2\n/g/gone|absent\n")
    hypervisor = SimpleNamespace(run=lambda *argv: out)
    found = labels(hypervisor, ["/g/disk.qcow2", "/g/a|b.img", "/g/gone"])
    assert found == {"/g/disk.qcow2": ROOT_FILE,
                     "/g/a|b.img": Label("64055:64055", "600",
                                         "system_u:object_r:svirt_image_t:s0:c1,c2"),
                     "/g/gone": None}


def test_a_file_stat_could_not_read_is_undecided():
    hypervisor = SimpleNamespace(run=lambda *argv: "")
    with pytest.raises(Undecided, match="/g/disk.qcow2"):
        labels(hypervisor, ["/g/disk.qcow2"])


def test_the_host_files_a_domain_names():
    dom = Domain.from_string("""<domain><os><kernel>/k</kernel><nvram>/v.fd</nvram></os>
      <devices>
        <disk device='disk'><source file='/d.qcow2'/><target dev='vda'/></disk>
        <disk device='cdrom'><target dev='sda'/><readonly/></disk>
        <disk device='disk'><source dev='/dev/sdb'/><target dev='vdb'/><readonly/></disk>
        <serial type='file'><source path='/s.log'/></serial>
        <console type='pty'><log file='/c.log'/></console>
      </devices></domain>""")
    assert dom.host_files == [("disk vda", "/d.qcow2"), ("read-only disk vdb", "/dev/sdb"),
                              ("<os><kernel>", "/k"), ("<os><nvram>", "/v.fd"),
                              ("<serial> file", "/s.log"), ("<console> log", "/c.log")]
