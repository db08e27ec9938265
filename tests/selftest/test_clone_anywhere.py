"""Self-tests: a clone runs the suite wherever a user puts it: in a private folder (0700, as /root
and every `mktemp -d` folder are), in a path with a space, and two clones at once, then again.

QEMU runs as libvirt-qemu on the hardened host profile and cannot walk into such a clone: what
it reads is copied into the image cache (helpers/vm/imagecache.py) and nothing of the clone is
handed to it. The clones are of the committed tree (`git clone`), run with this checkout's
interpreter.
"""

import grp
import pwd
import shutil
import stat
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from helpers.host.hypervisor import LOCAL_IMAGE_CACHE
from helpers.local.digest import sha256
from helpers.vm import imagecache
from tests.support.expected import VANTAGES, expected_status
from tests.support.suite import ROOT, run_suite, statuses

CACHE = Path(LOCAL_IMAGE_CACHE)
QEMU_GROUP = "libvirt-qemu"  # Debian's, which the hardened host profile keeps
QEMU_READS = ("probe.img", "vmlinux", "initrd.cpio")


@pytest.fixture(scope="module")
def private_folder():
    folder = Path(tempfile.mkdtemp(prefix="vmiso-clones-"))
    yield folder
    shutil.rmtree(folder)


@pytest.fixture(scope="module")
def clones(private_folder):
    """A clone in the private folder, and one in a path with a space under it."""
    made = {"private": private_folder / "vmiso",
            "with a space": private_folder / "two words" / "vmiso clone"}
    for path in made.values():
        path.parent.mkdir(exist_ok=True)
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(path)], check=True, timeout=120)
    return made


@pytest.fixture(scope="module")
def cache_entries(clones):
    """The cache is kept between runs; what these clones' own images added goes again, and
    nothing else: other runs on this machine may be using the cache meanwhile, this checkout's
    own copies too."""
    before = imagecache.entries(CACHE)
    yield
    ours = {cached_copy(path).parent for clone in clones.values()
            for path in probe_files(clone).values()}
    kept = before | {cached_copy(path).parent for path in probe_files(ROOT).values()}
    for entry in (imagecache.entries(CACHE) & ours) - kept:
        shutil.rmtree(entry)


def conformance(clone, name, *options):
    return run_suite(clone / "reports" / name, "suites", "--template", "hardened",
                     "--host-profile", "hardened", *options, clone=clone)


@pytest.fixture(scope="module")
def runs_at_once(clones, cache_entries):
    """A whole conformance run in each clone, both at once."""
    with ThreadPoolExecutor(len(clones)) as pool:
        futures = {name: pool.submit(conformance, clone, "first")
                   for name, clone in clones.items()}
        return {name: future.result() for name, future in futures.items()}


def probe_files(clone):
    return {name: path for path in (clone / ".cache" / "guest").glob("*/*")
            if (name := path.name) in QEMU_READS}


def cached_copy(path):
    return CACHE / QEMU_GROUP / sha256(path)[:16] / path.name


def test_the_private_folder_is_private(private_folder):
    assert stat.S_IMODE(private_folder.stat().st_mode) == 0o700
    assert private_folder.stat().st_uid == 0


@pytest.mark.parametrize("where", ["private", "with a space"])
def test_a_clone_runs_the_whole_suite_with_the_usual_verdicts(runs_at_once, clones, where):
    proc, report = runs_at_once[where]
    assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr[-1000:]
    assert statuses(report) == {cid: expected_status("hardened", cid) for cid in VANTAGES}, \
        proc.stdout[-3000:]
    assert report["run"]["guest_boot"] == "direct"
    assert Path(report["image"]["path"]).is_relative_to(clones[where])


@pytest.mark.parametrize("where", ["private", "with a space"])
def test_qemu_reads_copies_its_group_alone_can_read(runs_at_once, clones, where):
    files = probe_files(clones[where])
    assert set(files) == set(QEMU_READS)
    qemu_gid = grp.getgrnam(QEMU_GROUP).gr_gid
    qemu_uid = pwd.getpwnam(QEMU_GROUP).pw_uid
    for path in files.values():
        copy = cached_copy(path)
        info = copy.stat()
        # libvirt's DAC driver hands each file to QEMU's user while a guest uses it and gives a
        # kernel back to root after; the mode stays: nobody may write, the folder keeps others out
        assert stat.S_IMODE(info.st_mode) == 0o444, copy
        assert (info.st_uid, info.st_gid) in {(0, qemu_gid), (qemu_uid, qemu_gid), (0, 0)}, copy
        for folder in (copy.parent, copy.parent.parent):
            info = folder.stat()
            assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == \
                (0, qemu_gid, 0o750), folder
        for folder in (CACHE, CACHE.parent):
            assert stat.S_IMODE(folder.stat().st_mode) == 0o711, folder


@pytest.mark.parametrize("where", ["private", "with a space"])
def test_nothing_of_the_clone_is_handed_to_qemu(runs_at_once, clones, where):
    """libvirt hands every file a guest uses to QEMU's user (and leaves a backing file so): the
    clone's own images still belong to root."""
    for path in probe_files(clones[where]).values():
        assert path.stat().st_uid == 0, path


def test_a_second_run_reuses_the_copies(runs_at_once, clones):
    clone = clones["private"]
    copies = {cached_copy(path): cached_copy(path).stat().st_ino
              for path in probe_files(clone).values()}
    proc, report = conformance(clone, "second", "--control", "HV-01,NET-01")
    assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr[-1000:]
    assert statuses(report) == {"HV-01": "pass", "NET-01": "pass"}
    assert {copy: copy.stat().st_ino for copy in copies} == copies
