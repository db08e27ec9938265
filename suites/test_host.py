"""Risk 5, shared devices and privileges on the host: who may drive KVM and libvirt."""

import stat

import pytest

KVM_DEVICE = "/dev/kvm"


@pytest.mark.control("DEV-04")
@pytest.mark.outside
def test_kvm_device_is_not_open_to_everyone(host_files, evidence):
    mode = host_files.mode(KVM_DEVICE)
    if mode is None:
        pytest.skip(f"{KVM_DEVICE} does not exist on this host")
    evidence.check(f"{KVM_DEVICE} permissions", f"{stat.filemode(mode)} ({mode & 0o777:o})",
                   "no access for others", not mode & 0o007)


@pytest.mark.control("DEV-04")
@pytest.mark.outside
def test_libvirt_socket_is_not_open_to_everyone(target, host_files, evidence):
    socket = target.socket_path
    mode = host_files.mode(socket)
    if mode is None:
        raise FileNotFoundError(f"libvirt's socket {socket} is not there although the run uses it")
    evidence.check(f"libvirt read-write socket {socket}",
                   f"{stat.filemode(mode)} ({mode & 0o777:o})", "no access for others",
                   not mode & 0o007)
