"""Self-tests: ESC-09 fails on a template with a read-only data disk. At the guest's start
libvirt hands the disk to QEMU's user (libvirt-qemu on the hardened host) and by design never
gives a read-only disk back; the boot disk, writable, it does give back, and so it leaves a
read-only disk the template tells it not to relabel (<seclabel model='dac' relabel='no'/>),
which its operator gave QEMU's user (its SELinux label, which this machine's libvirt has no
driver for and would refuse the guest for, is dropped). The hardened template passes in the conformance runs
(test_conformance_runs.py). The leaky host runs QEMU as root, where nothing is relabelled, so
this runs on the hardened host."""

import grp
import pwd

from tests.support.suite import ROOT, run_suite, statuses, unlike

QEMU_USER = "libvirt-qemu"  # Debian's, which the hardened host profile keeps
HARDENED = ROOT / "templates" / "hardened.xml"
READ_ONLY_DISK = ("<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                  "<source file='/srv/images/shared-data.img'/>"
                  "<target dev='vdb' bus='virtio'/><readonly/></disk>")
LEFT_AS_IS = ("<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
              "<source file='/srv/images/iso.img'><seclabel model='dac' relabel='no'/>"
              "<seclabel model='selinux' relabel='no'/></source>"
              "<target dev='vdc' bus='virtio'/><readonly/></disk>")


def test_a_read_only_disk_is_left_under_qemus_user(tmp_path):
    template = tmp_path / "read-only-disk.xml"
    template.write_text(HARDENED.read_text().replace(
        "</devices>", f"  {READ_ONLY_DISK}\n  {LEFT_AS_IS}\n  </devices>", 1))
    _, report = run_suite(tmp_path / "report", "suites", "--template", str(template),
                          "--control", "ESC-09")
    assert statuses(report) == {"ESC-09": "fail"}, unlike(report, {"ESC-09": "fail"})
    evidence = {e["what"]: e["observed"] for e in report["controls"][0]["evidence"]}
    kept = next(v for k, v in evidence.items() if k.startswith("files left"))
    qemu = f"{pwd.getpwnam(QEMU_USER).pw_uid}:{grp.getgrnam(QEMU_USER).gr_gid}"  # the DAC label
    assert "read-only disk vdb" in kept and f"{qemu} 600 after stop" in kept, kept
    assert "disk vda" not in kept, kept  # the writable boot disk is given back
    labelled = next(v for k, v in evidence.items() if k.startswith("files libvirt labelled"))
    assert "disk vda" in labelled and "0:0 600 after stop" in labelled, labelled
    left = next(v for k, v in evidence.items() if k.startswith("the template's files libvirt left"))
    assert "read-only disk vdc /run/vmiso/" in left and f"{qemu} 600 before" in left, left
    assert "disk vdc" not in kept and "disk vdc" not in labelled, labelled
