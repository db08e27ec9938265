"""Unit tests: what a preflight reads without a guest (qemu.conf lists and defaults, cgroup
controllers) and which checks it keeps."""

from hypothesis import given
from hypothesis import strategies as st

from helpers.hostconfig import cgroupcontrollers
from helpers.hostconfig.libvirtdconf import parse
from helpers.hostconfig.qemuconf import QemuConf
from helpers.plugin import selection
from helpers.verdict import catalog as catalog_mod
from scripts import vmiso

QEMU_CONF = '''# a comment = 1
#namespaces = [ "mount" ]
user = "root"   # trailing words
namespaces = []
cgroup_device_acl = [
    "/dev/null", "/dev/full", "/dev/zero",
    "/dev/sda",
]
'''


def test_qemu_conf_lists_are_read_across_lines_and_commented_ones_ignored():
    settings = parse(QEMU_CONF)
    assert settings == {"user": "root", "namespaces": [],
                        "cgroup_device_acl": ["/dev/null", "/dev/full", "/dev/zero", "/dev/sda"]}


def test_qemu_conf_unset_settings_are_libvirts_defaults():
    conf = QemuConf("/etc/libvirt/qemu.conf", parse(QEMU_CONF))
    assert conf.get("seccomp_sandbox") == "1" and conf.get("namespaces") == []
    assert conf.widened_device_acl == ["/dev/sda"]
    assert conf.describe("namespaces") == "namespaces = [] (/etc/libvirt/qemu.conf)"
    assert conf.describe("dump_guest_core") == \
        "dump_guest_core = 0 (libvirt's default, unset in /etc/libvirt/qemu.conf)"
    assert QemuConf("q", {}).widened_device_acl == []


@given(st.lists(st.sampled_from(["/dev/null", "/dev/kvm", "/dev/sdb", "/dev/vfio/1"]),
                unique=True))
def test_a_device_acl_is_widened_by_exactly_its_devices_beyond_the_default(devices):
    conf = QemuConf("q", parse("cgroup_device_acl = [ " + ", ".join(f'"{d}"' for d in devices)
                               + " ]\n"))
    assert conf.widened_device_acl == [d for d in devices if d.startswith(("/dev/sd", "/dev/vf"))]


PROC_CGROUPS = """#subsys_name\thierarchy\tnum_cgroups\tenabled
cpuset\t3\t1\t1
cpu\t1\t1\t1
memory\t4\t695\t0
blkio\t7\t1\t1
"""
MOUNTINFO = (
    "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
    "31 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
    "32 25 0:28 / /sys/fs/cgroup/blkio rw,nosuid shared:9 - cgroup cgroup rw,blkio\n"
    "33 25 0:29 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n")


def test_a_v1_controller_counts_when_enabled_and_mounted():
    enabled = cgroupcontrollers.kernel_enabled(PROC_CGROUPS)
    assert enabled == {"cpuset", "cpu", "blkio"}  # memory disabled, cpuacct not listed
    mounts = cgroupcontrollers.mounts(MOUNTINFO)
    assert [(kind, point) for kind, point, _ in mounts] == [
        ("cgroup", "/sys/fs/cgroup/cpu,cpuacct"), ("cgroup", "/sys/fs/cgroup/memory"),
        ("cgroup", "/sys/fs/cgroup/blkio"), ("cgroup2", "/sys/fs/cgroup/unified")]


def test_v2_controllers_are_named_in_v1_words():
    assert cgroupcontrollers.v2_controllers("cpuset cpu io memory pids") == \
        {"cpuset", "cpu", "cpuacct", "blkio", "memory", "pids", "devices"}


CATALOG = catalog_mod.load()


def test_a_preflight_keeps_guestless_checks_of_controls_the_host_answers_for():
    assert selection.in_preflight(["target", "evidence"], ["HV-10"], CATALOG)
    assert selection.in_preflight(["target", "qemu_conf", "evidence"], ["ESC-06"], CATALOG)
    assert not selection.in_preflight(["target", "qemu_process", "evidence"], ["ESC-01"], CATALOG)
    assert not selection.in_preflight(["template", "evidence"], ["HV-01"], CATALOG)  # template's
    assert not selection.in_preflight(["target", "base_image"], ["ESC-09"], CATALOG)


def test_vmiso_preflight_judges_this_machines_libvirt_unless_told_otherwise():
    assert vmiso.preflight_args([]) == ["--host-profile", "system", "--preflight"]
    assert vmiso.preflight_args(["--libvirt-uri", "qemu+ssh://kvm1/system"]) == \
        ["--libvirt-uri", "qemu+ssh://kvm1/system", "--preflight"]
    assert vmiso.preflight_args(["--host-profile=leaky"]) == ["--host-profile=leaky",
                                                              "--preflight"]
    assert vmiso.preflight_args(["--help"]) == ["--help"]


def test_the_accelerator_is_the_given_hosts_cpus_choice():
    from helpers.plugin import accel

    with_vmx, without = "flags\t\t: fpu vme vmx sse\n", "flags\t\t: fpu vme sse\n"
    assert accel.choose("auto", with_vmx, kvm_present=True) == "kvm"
    assert accel.choose("auto", with_vmx, kvm_present=False) == "tcg"
    assert accel.choose("auto", without, kvm_present=True) == "tcg"
    assert accel.choose("tcg", with_vmx, kvm_present=True) == "tcg"
    try:
        accel.choose("kvm", without, True, where="on qemu+ssh://kvm1/system")
    except accel.AcceleratorError as err:
        assert "KVM is not usable on qemu+ssh://kvm1/system" in str(err)
    else:
        raise AssertionError("--accel kvm on a CPU without vmx/svm was accepted")
