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


def test_every_mount_under_sys_fs_cgroup_is_mounted_again_in_order(tmp_path):
    mountinfo, _ = files(tmp_path, HYBRID, HYBRID_SELF)
    assert cgroups.mount_steps(mountinfo) == [
        "mkdir -p /sys/fs/cgroup && mount -t tmpfs -o rw,mode=755 tmpfs /sys/fs/cgroup",
        "mkdir -p /sys/fs/cgroup/cpu && mount -t cgroup -o rw,cpu cgroup /sys/fs/cgroup/cpu",
        "mkdir -p /sys/fs/cgroup/memory && mount -t cgroup -o rw,memory cgroup "
        "/sys/fs/cgroup/memory",
        "mkdir -p /sys/fs/cgroup/systemd && mount -t cgroup -o rw,xattr,name=systemd cgroup "
        "/sys/fs/cgroup/systemd",
        "mkdir -p /sys/fs/cgroup/unified && mount -t cgroup2 -o rw cgroup2 "
        "/sys/fs/cgroup/unified",
    ]


def test_the_runners_cgroup_is_found_in_each_hierarchy(tmp_path):
    assert cgroups.hierarchies(*files(tmp_path, HYBRID, HYBRID_SELF)) == [
        Path("/sys/fs/cgroup/systemd"), Path("/sys/fs/cgroup/memory/process_api/7f33"),
        Path("/sys/fs/cgroup/cpu"), Path("/sys/fs/cgroup/unified")]


def test_a_unified_host_has_one_hierarchy(tmp_path):
    mountinfo, cgroup = files(tmp_path, UNIFIED, UNIFIED_SELF)
    assert cgroups.hierarchies(mountinfo, cgroup) == [
        Path("/sys/fs/cgroup/user.slice/user-0.slice/session-3.scope")]
    assert cgroups.mount_steps(mountinfo) == [
        "mkdir -p /sys/fs/cgroup && mount -t cgroup2 -o rw,nsdelegate,memory_recursiveprot "
        "cgroup2 /sys/fs/cgroup"]


def test_the_daemons_join_through_the_runners_root(tmp_path):
    steps = cgroups.join_steps([Path("/sys/fs/cgroup/cpu/vmiso-ab12")])
    assert len(steps) == 1 and steps[0].startswith("echo $$ > /proc/")
    assert steps[0].endswith("/root/sys/fs/cgroup/cpu/vmiso-ab12/cgroup.procs")


def test_removal_is_deepest_first_and_names_what_stayed(tmp_path):
    lab = tmp_path / "cg" / "vmiso-ab12"
    (lab / "machine" / "qemu-1-guest" / "vcpu0").mkdir(parents=True)
    (tmp_path / cgroups.RECORD).write_text(f"{lab}\n")
    assert cgroups.remove(tmp_path) == []
    assert not lab.exists() and not (tmp_path / cgroups.RECORD).exists()
