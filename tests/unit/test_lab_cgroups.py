"""The machine's cgroup mounts, as the lab mounts them again and finds the runner's cgroups."""

from pathlib import Path

from helpers.lab import cgroups

HYBRID = """\
23 1 0:21 / /sys rw,nosuid - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 1 0:40 / /srv/cgroup-elsewhere rw - cgroup cgroup rw,pids
"""
HYBRID_SELF = """\
9:name=systemd:/
4:memory:/process_api/7f33
1:cpu:/
0::/
"""
UNIFIED = """\
30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 \
rw,nsdelegate,memory_recursiveprot
"""
UNIFIED_SELF = "0::/user.slice/user-0.slice/session-3.scope\n"


def files(tmp_path, mountinfo, cgroup):
    (tmp_path / "mountinfo").write_text(mountinfo)
    (tmp_path / "cgroup").write_text(cgroup)
    return str(tmp_path / "mountinfo"), str(tmp_path / "cgroup")


def test_the_runners_cgroup_is_found_in_each_hierarchy(tmp_path):
    found = cgroups.hierarchies(*files(tmp_path, HYBRID, HYBRID_SELF))
    assert [(m.point, folder) for m, folder in found] == [
        ("/sys/fs/cgroup/systemd", Path("/sys/fs/cgroup/systemd")),
        ("/sys/fs/cgroup/memory", Path("/sys/fs/cgroup/memory/process_api/7f33")),
        ("/sys/fs/cgroup/cpu", Path("/sys/fs/cgroup/cpu")),
        ("/sys/fs/cgroup/unified", Path("/sys/fs/cgroup/unified"))]


def test_the_lab_mounts_the_cgroup_folder_and_the_hierarchies_it_has_a_cgroup_in(tmp_path):
    mountinfo, cgroup = files(tmp_path, HYBRID, HYBRID_SELF)
    made = [h for h in cgroups.hierarchies(mountinfo, cgroup)
            if h[0].point != "/sys/fs/cgroup/memory"]
    assert cgroups.mount_steps(made, mountinfo) == [
        "mkdir -p /sys/fs/cgroup && mount -t tmpfs -o rw,mode=755 tmpfs /sys/fs/cgroup",
        "mkdir -p /sys/fs/cgroup/systemd && mount -t cgroup -o rw,xattr,name=systemd cgroup "
        "/sys/fs/cgroup/systemd",
        "mkdir -p /sys/fs/cgroup/cpu && mount -t cgroup -o rw,cpu cgroup /sys/fs/cgroup/cpu",
        "mkdir -p /sys/fs/cgroup/unified && mount -t cgroup2 -o rw cgroup2 "
        "/sys/fs/cgroup/unified",
    ]


def test_a_unified_host_has_one_hierarchy(tmp_path):
    mountinfo, cgroup = files(tmp_path, UNIFIED, UNIFIED_SELF)
    found = cgroups.hierarchies(mountinfo, cgroup)
    assert [folder for _, folder in found] == [
        Path("/sys/fs/cgroup/user.slice/user-0.slice/session-3.scope")]
    assert cgroups.mount_steps(found, mountinfo) == [
        "mkdir -p /sys/fs/cgroup && mount -t cgroup2 -o rw,nsdelegate,memory_recursiveprot "
        "cgroup2 /sys/fs/cgroup"]


def test_a_hierarchy_the_lab_cannot_make_a_cgroup_in_is_left_out(tmp_path, monkeypatch):
    writable = tmp_path / "cg" / "rw"
    writable.mkdir(parents=True)
    read_only = tmp_path / "cg" / "ro"  # missing: mkdir below it fails as on a read-only fs
    (tmp_path / "mountinfo").write_text(
        f"31 23 0:28 / {writable} rw - cgroup cgroup rw,cpu\n"
        f"32 23 0:29 / {read_only}/x rw - cgroup cgroup rw,memory\n")
    (tmp_path / "cgroup").write_text("1:cpu:/\n4:memory:/\n")
    monkeypatch.setattr(cgroups, "CGROUP_ROOT", str(tmp_path / "cg"))
    made = cgroups.create(tmp_path, "ab12", str(tmp_path / "mountinfo"), str(tmp_path / "cgroup"))
    assert [folder for _, folder in made] == [writable / "vmiso-ab12"]
    assert (tmp_path / cgroups.RECORD).read_text() == f"{writable / 'vmiso-ab12'}\n"


def test_the_daemons_join_through_the_runners_root():
    mount = cgroups.Mount("/sys/fs/cgroup/cpu", "cgroup", "rw,cpu")
    steps = cgroups.join_steps([(mount, Path("/sys/fs/cgroup/cpu/vmiso-ab12"))])
    assert len(steps) == 1 and steps[0].startswith("echo $$ > /proc/")
    assert steps[0].endswith("/root/sys/fs/cgroup/cpu/vmiso-ab12/cgroup.procs")


def test_removal_is_deepest_first_and_names_what_stayed(tmp_path):
    lab = tmp_path / "cg" / "vmiso-ab12"
    (lab / "machine" / "qemu-1-guest" / "vcpu0").mkdir(parents=True)
    (tmp_path / cgroups.RECORD).write_text(f"{lab}\n")
    assert cgroups.remove(tmp_path) == []
    assert not lab.exists() and not (tmp_path / cgroups.RECORD).exists()
