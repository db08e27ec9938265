"""What QEMU writes past virtlogd, read from its fds and command line."""

from types import SimpleNamespace

from helpers.probes.coresidency import consolelog

LOGD = ("qemu-system-x86_64", "-add-fd", "set=0,fd=29,opaque=serial0-log", "-chardev",
        "pty,id=charserial0,logfile=/dev/fdset/0,logappend=on")
FILE = ("qemu-system-x86_64", "-chardev", "pty,id=charserial0,logfile=/var/log/vm-serial.log")


def process(cmdline, fds):
    links = {f"/proc/7/fd/{fd}": target for fd, target in fds.items()}
    return SimpleNamespace(pid=7, cmdline=cmdline,
                           hypervisor=SimpleNamespace(readlink=links.__getitem__))


def test_pipes_to_virtlogd_are_rotated():
    assert consolelog.unrotated_outputs(process(LOGD, {1: "pipe:[5]", 2: "pipe:[5]"})) == []


def test_a_log_file_qemu_writes_itself_is_named():
    found = consolelog.unrotated_outputs(process(FILE, {1: "/var/log/libvirt/qemu/vm.log",
                                                        2: "/dev/null"}))
    assert found == ["stdout: /var/log/libvirt/qemu/vm.log",
                     "chardev charserial0: /var/log/vm-serial.log"]


def test_max_size_zero_is_never_rotated():
    assert consolelog.rollover({}) == consolelog.VIRTLOGD_MAX_SIZE
    assert consolelog.rollover({"max_size": "0"}) == 0
