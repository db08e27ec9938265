"""The image cache (helpers/vm/imagecache.py) on this machine, in a folder of the test's own: what
QEMU reads is copied once, readable by QEMU's group alone, and replaced when it changed; a folder
another user made in its place, or a link, is refused and left as it is."""

import grp
import os
import stat
from pathlib import Path

import pytest

from helpers.host.errors import HypervisorError
from helpers.host.hypervisor import LocalHypervisor
from helpers.local.digest import sha256
from helpers.vm.imagecache import ImageCache, entries

GROUP = "libvirt-qemu" if "libvirt-qemu" in {g.gr_name for g in grp.getgrall()} else "root"
NOBODY = 65534


@pytest.fixture
def cache(tmp_path):
    hypervisor = LocalHypervisor()
    hypervisor.image_cache = tmp_path / "vmiso" / "images"
    return ImageCache(hypervisor, GROUP)


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "clone" / "probe.img"
    path.parent.mkdir()
    path.write_bytes(os.urandom(4096))
    return path


def fresh(cache):
    """Another run on the same cache: what the last one provided is looked at again."""
    return ImageCache(cache.hypervisor, cache.group)


def test_a_copy_is_readable_by_qemus_group_alone(cache, image):
    copy = Path(cache.provide(image))
    assert copy == cache.root / GROUP / sha256(image)[:16] / "probe.img"
    assert copy.read_bytes() == image.read_bytes()
    info = copy.stat()
    assert stat.S_IMODE(info.st_mode) == 0o444 and info.st_gid == grp.getgrnam(GROUP).gr_gid
    assert stat.S_IMODE(copy.parent.stat().st_mode) == 0o750
    assert stat.S_IMODE(Path(cache.root).stat().st_mode) == 0o711
    assert [p.name for p in copy.parent.iterdir()] == ["probe.img"]  # no partial copy left
    assert entries(cache.root) == {copy.parent}


def test_a_later_run_reuses_the_copy(cache, image):
    copy = Path(cache.provide(image))
    inode = copy.stat().st_ino
    assert Path(fresh(cache).provide(image)) == copy and copy.stat().st_ino == inode


def test_a_copy_that_changed_since_is_replaced(cache, image):
    copy = Path(cache.provide(image))
    copy.chmod(0o640)
    copy.write_bytes(b"written by an escaped guest")
    assert Path(fresh(cache).provide(image)) == copy
    assert copy.read_bytes() == image.read_bytes()
    assert stat.S_IMODE(copy.stat().st_mode) == 0o444


def test_a_folder_another_user_made_is_refused_and_left_as_it_is(cache, image):
    planted = Path(cache.root / GROUP)
    planted.mkdir(parents=True)
    os.chown(planted, NOBODY, NOBODY)
    planted.chmod(0o777)
    with pytest.raises(HypervisorError, match=f"{planted} on the host belongs to uid {NOBODY}"):
        cache.provide(image)
    info = planted.stat()
    assert (info.st_uid, stat.S_IMODE(info.st_mode), list(planted.iterdir())) == \
        (NOBODY, 0o777, [])


def test_a_link_in_the_caches_place_is_refused_and_what_it_points_to_untouched(cache, image,
                                                                             tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir(mode=0o1777)
    victim.chmod(0o1777)
    Path(cache.root).mkdir(parents=True)
    Path(cache.root / GROUP).symlink_to(victim)
    with pytest.raises(HypervisorError, match="is a symbolic link, not a folder"):
        cache.provide(image)
    info = victim.stat()
    assert (info.st_uid, stat.S_IMODE(info.st_mode), list(victim.iterdir())) == (0, 0o1777, [])
