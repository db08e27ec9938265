"""Pruning the image cache (helpers/vm/imagecache.py): which copies go (unused past the age limit,
then the least recently used beyond the size limit, never one used within the hour), and that
the prune enters and removes only folders of the run's own user, following no link."""

import os
import shutil
from pathlib import PurePosixPath
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.host.errors import HypervisorError
from helpers.vm.imagecache import DAY, GIB, HOUR, Entry, Limits, prune, to_remove

NOW = 1_700_000_000


def entry(name, age, size=1):
    return Entry(name, NOW - age, size)


def names(entries):
    return [e.path for e in entries]


def test_copies_unused_past_the_age_limit_go_and_recent_ones_stay():
    found = [entry("fresh", 2 * DAY), entry("stale", 31 * DAY), entry("older", 90 * DAY)]
    assert names(to_remove(found, NOW)) == ["older", "stale"]


def test_beyond_the_size_limit_the_least_recently_used_go_first():
    found = [entry("a", 3 * DAY, 4 * GIB), entry("b", 2 * DAY, 4 * GIB),
             entry("c", 5 * DAY, 4 * GIB), entry("d", 1 * DAY, 4 * GIB)]
    assert names(to_remove(found, NOW)) == ["c", "a"]  # 8 GiB left


def test_a_copy_used_within_the_hour_stays_over_the_size_limit():
    found = [entry("booting", 10 * 60, 12 * GIB), entry("old", 2 * HOUR, 1 * GIB)]
    assert names(to_remove(found, NOW)) == ["old"]


def test_a_copy_from_the_hosts_future_counts_as_in_use():
    assert to_remove([entry("skewed", -DAY, 20 * GIB)], NOW) == []


cache = st.lists(st.tuples(st.integers(-DAY, 100 * DAY), st.integers(0, 6 * GIB)), max_size=12)
limits = st.builds(Limits, max_age_s=st.integers(0, 60 * DAY), max_bytes=st.integers(0, 20 * GIB),
                   in_use_s=st.integers(0, 2 * DAY))


@given(cache, limits)
def test_prune_choice_keeps_every_copy_in_use_and_fits_where_it_can(ages_sizes, limit):
    found = [entry(f"e{i}", age, size) for i, (age, size) in enumerate(ages_sizes)]
    chosen = to_remove(found, NOW, limit)
    kept = [e for e in found if e not in chosen]
    kept_bytes = sum(e.size for e in kept)
    in_use = [e for e in found if NOW - e.used < limit.in_use_s]
    assert not set(chosen) & set(in_use)
    assert all(e in chosen for e in found if e not in in_use and NOW - e.used > limit.max_age_s)
    if sum(e.size for e in in_use) <= limit.max_bytes:
        assert kept_bytes <= limit.max_bytes
    for_size = [e for e in chosen if NOW - e.used <= limit.max_age_s]
    if for_size:  # no more than the size limit needs: the last one taken for it was needed
        assert kept_bytes + for_size[-1].size > limit.max_bytes
        assert max(e.used for e in for_size) <= min(
            (e.used for e in kept if e not in in_use), default=NOW)


class Here:
    """This machine as the prune reads a hypervisor, at a fixed clock; `others`: paths shown as
    another user's."""

    def __init__(self, root, others=()):
        self.image_cache = PurePosixPath(root)
        self.uid = os.getuid()
        self.others = {str(p) for p in others}

    def lstat(self, path):
        try:
            status = os.lstat(path)
        except FileNotFoundError:
            return None
        if str(path) not in self.others:
            return status
        return SimpleNamespace(st_mode=status.st_mode, st_uid=self.uid + 1,
                               st_mtime=status.st_mtime, st_size=status.st_size)

    def listdir(self, path):
        return sorted(os.listdir(path))

    def remove_tree(self, path):
        shutil.rmtree(path)

    def run(self, *argv):
        assert argv == ("date", "+%s")
        return f"{NOW}\n"


def copy(folder, age, size=10, name="probe.img"):
    """A content-hash folder holding one file of `size` bytes, last used `age` seconds ago."""
    folder.mkdir(parents=True)
    (folder / name).write_bytes(b"x" * size)
    os.utime(folder, (NOW - age, NOW - age))
    return folder


@pytest.fixture
def root(tmp_path):
    return tmp_path / "vmiso" / "images"


def test_prune_removes_stale_folders_and_counts_what_it_kept(root):
    stale = copy(root / "libvirt-qemu" / "aaaa", 40 * DAY, 100)
    fresh = copy(root / "libvirt-qemu" / "bbbb", 1 * DAY, 30)
    removed, kept = prune(Here(root))
    assert names(removed) == [str(stale)] and removed[0].size == 100
    assert not stale.exists() and fresh.exists() and kept == 30


def test_prune_follows_no_link_and_leaves_another_users_folder(root, tmp_path):
    victim = copy(tmp_path / "victim" / "cccc", 40 * DAY)
    (root / "libvirt-qemu").mkdir(parents=True)
    (root / "libvirt-qemu" / "dddd").symlink_to(victim)
    (root / "linked-group").symlink_to(tmp_path / "victim")
    theirs = copy(root / "libvirt-qemu" / "eeee", 40 * DAY)
    removed, kept = prune(Here(root, others=[theirs]))
    assert removed == [] and kept == 0
    assert (victim / "probe.img").exists() and theirs.exists()
    assert (root / "libvirt-qemu" / "dddd").is_symlink()


def test_prune_refuses_a_cache_that_is_a_link_or_under_one(root, tmp_path):
    copy(tmp_path / "elsewhere" / "images" / "libvirt-qemu" / "ffff", 40 * DAY)
    root.parent.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(HypervisorError, match=r"vmiso on the host is a symbolic link"):
        prune(Here(root))
    assert (tmp_path / "elsewhere" / "images" / "libvirt-qemu" / "ffff").exists()


def test_prune_refuses_another_users_cache(root):
    copy(root / "libvirt-qemu" / "abcd", 40 * DAY)
    with pytest.raises(HypervisorError, match="belongs to uid .*prune it as the user"):
        prune(Here(root, others=[root]))


def test_prune_of_a_host_without_a_cache_removes_nothing(tmp_path):
    assert prune(Here(tmp_path / "none" / "images")) == ([], 0)


def test_prune_counts_plain_files_only(root, tmp_path):
    folder = copy(root / "libvirt-qemu" / "1234", DAY, 7)
    (tmp_path / "big").write_bytes(b"x" * 1000)
    (folder / "link").symlink_to(tmp_path / "big")
    assert prune(Here(root)) == ([], 7)
    assert (tmp_path / "big").exists()
