"""The hypervisor's host as the checks see it (helpers/host/hypervisor.py), on this machine: which
URIs are local, remote over SSH or refused, and the local backend's files and commands. The SSH
backend is proven against a real sshd in tests/selftest/test_remote_host.py."""

import hashlib
import os
import socket
import stat

import pytest

from helpers.host.hypervisor import HypervisorError, LocalHypervisor, hypervisor_for
from helpers.hostconfig import facts
from helpers.hostconfig.libvirtdconf import daemon_pid
from helpers.probes.qemuproc import ProcessNotFound, QemuProcess


@pytest.mark.parametrize("uri", ["qemu:///system", "qemu+unix:///system?socket=/run/x/sock",
                                 "qemu:///session"])
def test_local_uris_are_this_machine(uri):
    assert isinstance(hypervisor_for(uri), LocalHypervisor)


@pytest.mark.parametrize("uri, named", [
    ("qemu+tcp://127.0.0.1/system", "transport tcp"),
    ("qemu+tls://127.0.0.1/system", "transport tls"),
    ("qemu://127.0.0.1/system", "a host name without a transport")])
def test_other_remote_transports_are_refused_with_the_fix(uri, named):
    with pytest.raises(HypervisorError, match=f"not {named}.*use qemu\\+ssh://user@host/system"):
        hypervisor_for(uri)


def test_local_files_are_written_read_and_removed(tmp_path):
    hv = LocalHypervisor()
    folder = tmp_path / "guest"
    hv.make_dir(folder)
    hv.write_bytes(folder / "seed", b"keys", mode=0o600)
    hv.make_sparse(folder / "floppy.img", 1474560)
    assert hv.read_bytes(folder / "seed") == b"keys"
    assert stat.S_IMODE(hv.mode(folder / "seed")) == 0o600
    assert (folder / "floppy.img").stat().st_size == 1474560
    assert hv.mode(folder / "absent") is None
    assert hv.free_mib(folder / "not" / "yet") > 0
    hv.put(folder / "seed", folder / "copy")
    assert hv.digest(folder / "copy") == hashlib.sha256(b"keys").hexdigest()
    hv.remove_tree(folder)
    assert not folder.exists()


def test_the_daemon_on_a_socket_is_found_by_its_listener(tmp_path):
    path = str(tmp_path / "libvirt-sock")
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(path)
        listener.listen()
        assert daemon_pid(LocalHypervisor(), path) == os.getpid()
    assert daemon_pid(LocalHypervisor(), str(tmp_path / "nobody-listens")) is None


def test_groups_and_processes_are_read_from_the_host():
    hv = LocalHypervisor()
    assert "root" in facts.group_members(hv, "root")
    assert facts.group_members(hv, "vmiso-no-such-group") is None
    release, version = facts.kernel(hv)
    assert release == os.uname().release and version == os.uname().version
    with pytest.raises(ProcessNotFound):
        QemuProcess.of(hv, "vmiso-no-such-guest")
