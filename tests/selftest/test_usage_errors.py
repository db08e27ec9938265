"""Bad input gets one line naming the problem and the fix, no traceback, and the documented exit
status: 4 for a bad option or input file, 3 when the suite could not run on this host, and a
report saying so in place of the previous run's. Nothing of a run that stopped this way is left
behind."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from helpers.lab.lab import Lab
from tests.support import suite as support
from tests.support.reports import plant_previous_run, true_report
from tests.support.suite import suite, vmiso

ROOT = Path(__file__).resolve().parents[2]
USAGE, INFRASTRUCTURE = 4, 3
HARDENED = (ROOT / "templates" / "hardened.xml").read_text()
VSOCK = HARDENED.replace(
    "<memballoon model='none'/>",
    "<memballoon model='none'/><vsock model='virtio'><cid auto='yes'/></vsock>")
# a device of another architecture
WATCHDOG = HARDENED.replace("<memballoon model='none'/>",
                            "<memballoon model='none'/><watchdog model='diag288'/>")


def run_suite(*args):
    return suite("suites", "-q", *args, timeout=300)


@pytest.fixture
def files(tmp_path):
    (tmp_path / "network.xml").write_text("<network><name>x</name></network>")
    (tmp_path / "garbled").write_text("<domain><devices>")
    (tmp_path / "osv").mkdir()
    (tmp_path / "osv" / "broken.json").write_text("{not json")
    (tmp_path / "cut.zip").write_bytes(b"PK\x03\x04" + os.urandom(200))
    (tmp_path / "noise.img").write_bytes(os.urandom(1 << 20))
    (tmp_path / "broken.qcow2").write_bytes(b"QFI\xfb" + os.urandom(4096))
    (tmp_path / "vsock.xml").write_text(VSOCK)
    (tmp_path / "watchdog.xml").write_text(WATCHDOG)
    (tmp_path / "waivers.yaml").write_text("- control: ESC-04\n  reason: [unclosed\n")
    (tmp_path / "empty").mkdir()
    (tmp_path / "history").mkdir()
    (tmp_path / "history" / "2026-11-29T02-00-00.000Z.json").write_text("{not json")
    (tmp_path / "expired.yaml").write_text("- {control: ESC-04, reason: x, owner: y, "
                                           "expires: 31/12/2020}\n")
    return tmp_path


# "@name" stands for a file of the `files` fixture.
@pytest.mark.parametrize("args, status, message", [
    (["--template", "/nonexistent/domain.xml"], USAGE, "does not exist; use --template hardened"),
    (["--template", "@network.xml"], USAGE,
     "is not a libvirt domain XML: the root element is <network>"),
    (["--template", "@garbled"], USAGE, "is not a libvirt domain XML: not well-formed XML"),
    (["--policy", "@garbled"], USAGE, "line 1 is not valid TOML"),
    (["--image", "/nonexistent/disk.qcow2"], USAGE, "pass an existing qcow2 or raw disk image"),
    (["--image", "@noise.img"], USAGE, "is not a bootable disk (no boot signature"),
    (["--image", "@broken.qcow2"], USAGE, "pass a qcow2 or raw disk image"),
    (["--accel", "warp"], USAGE, "invalid choice"),
    (["--osv", "/nonexistent/osv"], USAGE, "OSV feed /nonexistent/osv does not exist; pass a"),
    (["--osv", "@osv"], USAGE, "is not valid JSON"),
    (["--osv", "@cut.zip"], USAGE, "cut.zip cannot be read (File is not a zip file); download it"),
    (["--control", "XX-99"], USAGE, "--control XX-99: no such control"),
    (["-k", "no_check_is_named_so"], USAGE, "no check matches the selection"),
    (["--waivers", "@waivers.yaml"], USAGE, "is not valid YAML at line"),
    (["--waivers", "@expired.yaml"], USAGE, "is not a date; write YYYY-MM-DD"),
    (["--waivers", "/nonexistent/waivers.yaml"], USAGE, "pass an existing YAML file"),
    (["--risk", "4,9"], USAGE, "--risk 9: not a risk factor 1-7"),
    (["--severity", "urgent"], USAGE, "--severity urgent: not a severity (critical, high"),
    (["--fail-on", "sometimes"], USAGE, "invalid choice"),
    (["--baseline", "/nonexistent/controls.json"], USAGE,
     "baseline /nonexistent/controls.json cannot be read"),
    (["--baseline", "@garbled"], USAGE, "is not JSON"),
    (["--baseline", "@network.xml"], USAGE, "is not JSON"),
    (["--libvirt-uri", "qemu+unix:///system?socket=/nonexistent/sock"], INFRASTRUCTURE,
     "cannot connect to libvirt at qemu+unix:///system?socket=/nonexistent/sock"),
    (["--libvirt-uri", "qemu+ssh://root@127.0.0.1:1/system"], INFRASTRUCTURE,
     "cannot open SSH to the hypervisor root@127.0.0.1:1"),
    (["--libvirt-uri", "qemu+tcp://127.0.0.1/system"], INFRASTRUCTURE,
     "vmiso reaches a remote hypervisor through SSH, not transport tcp"),
    (["--libvirt-uri", "qemu+ssh://root@127.0.0.1:1/system?known_hosts=/nonexistent/known"],
     INFRASTRUCTURE, "cannot read known_hosts /nonexistent/known"),
    (["--libvirt-uri", "qemu+ssh://root@127.0.0.1:1/system", "--template", "leaky"], USAGE,
     "would open qemu+ssh://root@127.0.0.1:1/system to others (raw QEMU arguments (qemu:arg "
     "-monitor"),
    (["--libvirt-uri", "qemu:///system", "--libvirt-uri", "qemu:///system"], USAGE,
     "--libvirt-uri names the same host twice"),
    (["--template", "hardened", "--template", "hardened"], USAGE,
     "two templates named hardened"),
    (["--template", "@empty"], USAGE, "the folder has no *.xml template"),
    (["--template", "leaky=/nonexistent/disk.qcow2"], USAGE,
     "image /nonexistent/disk.qcow2 does not exist"),
    (["--template", "hardened", "--template", "leaky", "--shard", "3/2"], USAGE,
     "--shard 3/2: give K/N with 1 <= K <= N"),
    (["--history", "@garbled"], USAGE, "is a file; give --history a folder"),
    (["--history", "@history"], USAGE, "is not a vmiso report (not JSON"),
    (["--allowed-target", "10.0.0.5:443"], USAGE,
     "--allowed-target names a real host's neighbours; give it with --libvirt-uri"),
    (["--libvirt-uri", "qemu:///system", "--allowed-target", "10.0.0.5"], USAGE,
     "--allowed-target '10.0.0.5' is not ADDR:PORT; give an IPv4 address and a TCP port"),
    (["--libvirt-uri", "qemu:///system", "--management-target", "bmc.example:623"], USAGE,
     "--management-target 'bmc.example:623' is not ADDR[:PORT]; give an IPv4 address"),
    (["--host-profile", "careless"], USAGE, "invalid choice"),
    (["--template", "@vsock.xml", "--control", "SHR-05"], INFRASTRUCTURE,
     "the host has no /dev/vhost-vsock: load the vhost_vsock kernel module on the host"),
])
def test_bad_input_is_one_clear_line(args, status, message, files):
    """Through the vmiso command: its exit status, the one line, and the report it leaves in a
    folder an earlier run wrote (that run's files gone, every control not run, saying why)."""
    args = [str(files / a[1:]) if a.startswith("@") else a for a in args]
    reports = files / "reports"
    plant_previous_run(reports)
    proc = vmiso(*args, "--report-dir", str(reports), timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == status, output
    assert message in output
    assert "Traceback" not in output
    true_report(reports, message=message)


def test_a_template_the_host_cannot_run_still_gets_every_verdict_without_a_guest(files, tmp_path):
    """One line names the element and the fix; the template's and the host's checks decide,
    the guest's error with that line, and every report file is written (exit 4)."""
    proc, report = support.run_suite(tmp_path / "report", "suites", "--template",
                                     str(files / "watchdog.xml"), "--control", "HV-01,DEV-03")
    assert proc.returncode == USAGE, proc.stdout[-2000:]
    assert "change or remove <watchdog> in the template" in proc.stdout
    checks = [c for row in report["controls"] for c in row["checks"]]
    assert {c["verdict"] for c in checks if c["declared"]} == {"pass"}
    guest_checks = [c for c in checks if c["vantage"] == "inside"]
    assert guest_checks and all(c["verdict"] == "error" and "<watchdog>" in c["message"]
                                for c in guest_checks)
    assert "<watchdog>" in report["run"]["template_refused"]
    assert {p.name for p in (tmp_path / "report").iterdir()} >= {"controls.json", "report.html",
                                                                 "junit.xml"}


def test_no_kvm_and_tcg_forbidden_is_one_clear_line():
    if os.access("/dev/kvm", os.R_OK | os.W_OK) and "vmx" in Path("/proc/cpuinfo").read_text():
        pytest.skip("KVM works on this machine")
    proc = run_suite("--accel", "kvm")
    assert proc.returncode == USAGE
    assert "--accel kvm: KVM is not usable here" in proc.stdout + proc.stderr


def test_no_free_disk_is_one_clear_line_and_leaves_nothing():
    """The lab's state folder on a 1 MiB tmpfs, in a private mount namespace of the run."""
    shell = ("mkdir -p /run/vmiso && mount -t tmpfs -o size=1m tmpfs /run/vmiso && "
             f"PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 exec {sys.executable} -m pytest suites -q "
             "--control NET-01")
    proc = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", shell],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == INFRASTRUCTURE, output
    assert "MiB free under /run/vmiso" in output and "free some space" in output
    assert "Traceback" not in output


# nobody, able to read the clone wherever it lies (a private folder too) but nothing more: libvirt's
# socket wants write access, which reading does not give.
NOBODY_READING_THE_CLONE = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                            "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]


def test_unauthorised_libvirt_uri_is_one_clear_line():
    """A user libvirt's socket does not admit (nobody, against a lab's root-only socket)."""
    lab = Lab.start(Path("/run/vmiso"), ROOT / ".cache" / "libvirt" / "hardened")
    tmp_path = Path(tempfile.mkdtemp(prefix="vmiso-nobody-"))  # a folder nobody can write
    try:
        tmp_path.chmod(0o777)
        proc = suite("suites", "-q", "-p", "no:cacheprovider", "--libvirt-uri", lab.uri,
                     "--control", "DEV-04", "--report-dir", str(tmp_path), timeout=120,
                     prefix=NOBODY_READING_THE_CLONE,
                     env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, inherit_env=False)
    finally:
        lab.stop()
        shutil.rmtree(tmp_path)
    output = proc.stdout + proc.stderr
    assert proc.returncode == INFRASTRUCTURE, output
    assert "Permission denied; run vmiso as a user libvirt admits there" in output
    assert "Traceback" not in output


def test_a_xen_template_in_a_lab_without_xen_gets_its_template_verdicts_and_one_line(tmp_path):
    """An xl.cfg HVM guest: the template checks decide (its device model's floppy controller
    fails HV-01), the guest's checks say the live checks need a Xen host."""
    cfg = tmp_path / "desk.cfg"
    cfg.write_text("name = 'desk'\ntype = 'hvm'\nmemory = 1024\n"
                   "disk = [ 'format=raw, vdev=xvda, target=/srv/xen/desk.img' ]\n")
    proc, report = support.run_suite(tmp_path / "report", "suites", "--template", str(cfg),
                                     "--control", "HV-01,HV-07")
    assert proc.returncode == USAGE, proc.stdout[-2000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "live checks need a Xen host, run with --libvirt-uri xen:///system" in proc.stdout
    statuses = {row["id"]: row for row in report["controls"]}
    declared = {row["id"]: [c["verdict"] for c in row["checks"] if c["declared"]]
                for row in statuses.values()}
    assert declared == {"HV-01": ["fail"], "HV-07": ["pass"]}
    guest_checks = [c for row in statuses.values() for c in row["checks"] if not c["declared"]]
    assert guest_checks and all(c["verdict"] == "error" and "Xen host" in c["message"]
                                for c in guest_checks)


def missing_security_driver():
    """A MAC this kernel lacks, which libvirt refuses as qemu.conf's security_driver."""
    for driver, present in (("apparmor", "/sys/kernel/security/apparmor"),
                            ("selinux", "/sys/fs/selinux")):
        if not Path(present).exists():
            return driver
    pytest.skip("this kernel has both AppArmor and SELinux")


def test_a_host_setting_that_stops_libvirtd_is_one_line_naming_it(tmp_path):
    """security_driver = "apparmor" on a kernel without AppArmor: libvirt's own cause and where
    to fix it, exit 3, and a report that says so (no error per check)."""
    driver = missing_security_driver()
    proc = vmiso("--control", "HV-01,NET-01", "--report-dir", str(tmp_path), "-p",
                 "tests.support.plugins.mac_driver_setting",
                 env={"VMISO_SECURITY_DRIVER": driver}, timeout=300)
    said = proc.stdout + proc.stderr
    assert proc.returncode == INFRASTRUCTURE, said[-2000:]
    assert (f"the lab's libvirtd could not start: unsupported configuration: Security driver "
            f"{driver} not enabled (Initialization of QEMU state driver failed); fix that "
            f"setting in the lab's hardened host profile") in said
    assert "Traceback" not in said and "Connection reset" not in said
    true_report(tmp_path, message="Security driver")


def test_the_local_lab_as_non_root_is_one_line_and_a_report():
    """vmiso as nobody (able to read the clone): the lab needs root, said once, exit 3, and the
    report folder it may write says why nothing ran."""
    reports = Path(tempfile.mkdtemp(prefix="vmiso-nobody-"))
    try:
        reports.chmod(0o777)
        plant_previous_run(reports)
        for path in reports.rglob("*"):
            path.chmod(0o777)
        proc = vmiso("--control", "HV-01", "--report-dir", str(reports), timeout=120,
                     prefix=NOBODY_READING_THE_CLONE,
                     env={"PATH": "/usr/bin:/bin", "HOME": str(reports)}, inherit_env=False)
        said = proc.stdout + proc.stderr
        assert proc.returncode == INFRASTRUCTURE, said[-2000:]
        assert "the local lab needs root" in said and "run vmiso as root" in said
        assert "Traceback" not in said and said.count("needs root") <= 2, said[-2000:]
        true_report(reports, message="the local lab needs root")
    finally:
        shutil.rmtree(reports)


def test_vmiso_conformance_help_puts_vmisos_options_first():
    proc = vmiso("--help", timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("usage: vmiso conformance")
    first = {option: next(i for i, line in enumerate(lines) if option in line)
             for option in ("--template", "--libvirt-uri", "--report-dir", "exit statuses",
                            "-k EXPRESSION")}
    assert first["--template"] < 10 and first["exit statuses"] < first["-k EXPRESSION"]
