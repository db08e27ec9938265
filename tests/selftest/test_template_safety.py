"""No template can harm the machine that tests it: a template naming this machine's files,
sockets and programs in every element that can (character devices and their logs, RNG and TPM
backends, boot files, a display socket, an audio file, a share, an interface script, raw QEMU)
boots, and every canary it names is byte for byte, owner and mode what it was; no socket canary
is connected to, no program canary runs, and each redirection is in the report.

Host devices are never attached here: <hostdev> and the other device elements are checked on the
instantiated XML (tests/unit/test_confine.py)."""

import os
import socket
import stat

import pytest

from helpers.local.digest import sha256
from tests.support.suite import ROOT, run_suite

NOBODY = 65534
TEXT = b"a line of the host's own\n"
# canary name -> the template snippet that names it ({c} is the canary folder)
FILE_CANARIES = {
    "serial.txt": "<serial type='file'><source path='{c}/serial.txt'/><target port='1'/>"
                  "<log file='{c}/serial-log.txt'/></serial>",
    "serial-log.txt": "",
    "ttyfake": "<serial type='dev'><source path='{c}/ttyfake'/><target port='2'/></serial>",
    "pipe": "<channel type='pipe'><source path='{c}/pipe'/>"
            "<target type='virtio' name='org.vmiso.pipe'/></channel>",
    "parallel.txt": "<parallel type='file'><source path='{c}/parallel.txt'/></parallel>",
    "hwrng": "<rng model='virtio'><backend model='random'>{c}/hwrng</backend></rng>",
    "tpm0": "<tpm model='tpm-crb'><backend type='passthrough'><device path='{c}/tpm0'/>"
            "</backend></tpm>",
    "vnc.sock": "<graphics type='vnc'><listen type='socket' socket='{c}/vnc.sock'/></graphics>",
    "audio.wav": "<sound model='ich9'><audio id='1'/></sound>"
                 "<audio id='1' type='file' path='{c}/audio.wav'/>",
    "share/kept.txt": "<filesystem type='mount' accessmode='mapped'><source dir='{c}/share'/>"
                      "<target dir='canaryshare'/></filesystem>",
    "raw.txt": "",
}
SOCKET_CANARIES = {
    "agent.sock": "<channel type='unix'><source mode='connect' path='{c}/agent.sock'/>"
                  "<target type='virtio' name='org.vmiso.agent'/></channel>",
    "egd.sock": "<rng model='virtio'><backend model='egd' type='unix'><source mode='connect' "
                "path='{c}/egd.sock'/></backend></rng>",
}
SCRIPT = "<interface type='ethernet'><script path='{c}/ifup'/><model type='virtio'/></interface>"
KERNEL = "<kernel>{c}/vmlinuz</kernel><initrd>{c}/initrd</initrd>"
RAW_QEMU = """<qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
    <qemu:arg value='-chardev'/><qemu:arg value='file,id=vmisocanary,path={c}/raw.txt'/>
  </qemu:commandline>"""


def plant(folder):
    """Canary files owned by nobody, 0640, each holding a line of text; listening sockets; an
    executable that leaves a mark when run."""
    for name in [*FILE_CANARIES, "vmlinuz", "initrd"]:
        path = folder / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(TEXT)
        os.chown(path, NOBODY, NOBODY)
        path.chmod(0o640)
    listeners = {}
    for name in SOCKET_CANARIES:
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(str(folder / name))
        listener.listen(4)
        listener.setblocking(False)
        listeners[name] = listener
    (folder / "ifup").write_text(f"#!/bin/sh\ntouch {folder}/ifup-ran\n")
    (folder / "ifup").chmod(0o755)
    return listeners


def fingerprint(folder):
    """Content, owner and mode of every canary file, and the folder's listing."""
    files = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        digest = sha256(path) if stat.S_ISREG(info.st_mode) else None
        files[str(path.relative_to(folder))] = (digest, info.st_uid, info.st_gid,
                                                stat.filemode(info.st_mode))
    return files


def connected(listener):
    try:
        listener.accept()[0].close()
        return True
    except BlockingIOError:
        return False


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    canaries = tmp_path_factory.mktemp("host-canaries")
    canaries.chmod(0o755)  # QEMU's user could reach them, were they handed to it
    listeners = plant(canaries)
    before = fingerprint(canaries)
    snippets = "".join(s.format(c=canaries) for s in [*FILE_CANARIES.values(),
                                                       *SOCKET_CANARIES.values(), SCRIPT])
    hardened = (ROOT / "templates" / "hardened.xml").read_text()
    template = tmp_path_factory.mktemp("template") / "canaries.xml"
    template.write_text(hardened
                        .replace("<serial type='pty'/>",  # port 0: the console's
                                 "<serial type='pty'><target port='0'/></serial>")
                        .replace("<boot dev='hd'/>", KERNEL.format(c=canaries) + "<boot dev='hd'/>")
                        .replace("<memballoon model='none'/>",
                                 "<memballoon model='none'/>" + snippets)
                        .replace("</domain>", RAW_QEMU.format(c=canaries) + "</domain>"))
    proc, report = run_suite(tmp_path_factory.mktemp("report"), "suites", "--template",
                             str(template), "--control", "HV-06")
    yield canaries, before, listeners, proc, report
    for listener in listeners.values():
        listener.close()


def test_the_template_boots_and_is_judged(run):
    _, _, _, proc, report = run
    assert proc.returncode in (0, 1), proc.stdout[-3000:]
    hv06 = next(c for c in report["controls"] if c["id"] == "HV-06")
    assert hv06["status"] == "fail", proc.stdout[-2000:]  # the template's <parallel>
    assert {c["verdict"] for c in hv06["checks"]} == {"fail"}, hv06["checks"]


def test_every_canary_file_is_unchanged(run):
    canaries, before, _, _, _ = run
    assert fingerprint(canaries) == before


def test_no_canary_socket_is_connected_to_and_no_canary_program_runs(run):
    canaries, _, listeners, _, _ = run
    assert [name for name, listener in listeners.items() if connected(listener)] == []
    assert not (canaries / "ifup-ran").exists()


def test_each_redirection_is_in_the_report(run):
    canaries, _, _, _, report = run
    adaptations = "\n".join(report["run"]["adaptations"])
    for name in [*FILE_CANARIES, *SOCKET_CANARIES, "vmlinuz", "initrd"]:
        if name not in ("share/kept.txt", "raw.txt", "audio.wav", "tpm0", "serial-log.txt"):
            assert str(canaries / name) in adaptations, name
    for what in ("<audio type='file'>", "passthrough of the host's TPM", "<qemu:commandline>",
                 "<script>", "<log file>"):
        assert what in adaptations, what
