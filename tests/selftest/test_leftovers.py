"""Nothing left behind, nothing touched that is not the run's: Ctrl-C and SIGTERM during boot or
checks, also of a run of several templates, SIGKILL followed by a sweep in the next run, two runs
at once, and a run that leaves the image, the machine's libvirt configuration and its secrets as
they were.

A killed run leaves its lab for the next run of anyone to sweep, and the machine's own libvirt
folders are read as a whole: those tests are marked `alone` (make test runs them by
themselves)."""

import contextlib
import hashlib
import json
import os
import signal
import time
from pathlib import Path

import libvirt
import pytest

from helpers.lab.lab import Lab
from helpers.vm import runlease
from tests.support.reports import plant_previous_run, true_report
from tests.support.suite import ROOT, interrupt, lab_cgroups, run_suite, start_vmiso

STATE_DIR = Path("/run/vmiso")
REAL_HOST_WORKROOT = Path("/var/tmp/vmiso/guests")
IDLE_DOMAIN = """<domain type='qemu'><name>{name}</name><memory unit='MiB'>32</memory>
<os><type arch='x86_64' machine='q35'>hvm</type></os>
<devices><controller type='usb' model='none'/><video><model type='none'/></video>
<memballoon model='none'/></devices></domain>"""


def start(*options, report_dir):
    """A run of the vmiso command, its checks' outcomes on their own lines (-v over its -qq)."""
    return start_vmiso("-vvv", "--report-dir", str(report_dir), *options, merge_stderr=True)


def wait_for(condition, what, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def lab_of(proc):
    """The run id of the lab the run with this process started."""
    def find():
        for owner in STATE_DIR.glob("*/owner"):
            if owner.read_text().strip() == str(proc.pid):
                return owner.parent.name
        return None
    return wait_for(find, f"run {proc.pid}'s lab")


def booting(run_id):
    return wait_for(lambda: list((STATE_DIR / run_id / "guests").glob("*/disk.qcow2")),
                    f"a guest of lab {run_id}")


def first_check_done(proc):
    for line in proc.stdout:
        if " PASSED" in line or " FAILED" in line or " ERROR" in line:
            return
    raise AssertionError("the run ended before any check finished")


def leftovers(run_id):
    found = [f"/run/netns/{ns}" for ns in os.listdir("/run/netns")
             if ns.startswith(f"vmiso-{run_id}")]
    found += [str(STATE_DIR / run_id)] if (STATE_DIR / run_id).exists() else []
    found += [str(c) for c in lab_cgroups(run_id)]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if run_id in cmdline:
            found.append(f"pid {pid}: {cmdline[:100]}")
    return found


@pytest.mark.parametrize("sig, moment", [(signal.SIGTERM, "boot"), (signal.SIGINT, "boot"),
                                         (signal.SIGTERM, "checks"), (signal.SIGINT, "checks")])
def test_interrupt_leaves_nothing_behind_and_a_report_that_says_so(sig, moment, tmp_path):
    """Exit 2; the report replaces the earlier run's, says what stopped the run and after how
    many controls, and every check the run did not reach is not run."""
    plant_previous_run(tmp_path)
    proc = start("--control", "HV-01,HV-03,HV-06", report_dir=tmp_path)
    run_id = lab_of(proc)
    if moment == "boot":
        booting(run_id)
    else:
        first_check_done(proc)
    interrupt(proc, sig)
    assert not leftovers(run_id)
    how = "SIGTERM" if sig == signal.SIGTERM else "Ctrl-C"
    report = true_report(tmp_path, message=f"interrupted ({how}); after ")
    controls = report["cells"][0]["message"].rpartition("after ")[2]
    done, _, selected = controls.partition(" of ")
    assert selected == "3 controls" and int(done) < 3
    assert sum(row["status"] == "not_run" for row in report["controls"]) >= 3 - int(done)


def test_a_second_run_into_the_same_report_folder_is_refused(tmp_path):
    """While a run holds its folder, another run into it ends at once with one line (exit 4)
    and writes nothing there; the first run's report is its own."""
    first = start("--control", "HV-03", report_dir=tmp_path)
    booting(lab_of(first))
    second = start("--control", "HV-01", report_dir=tmp_path)
    out, _ = second.communicate(timeout=120)
    assert second.returncode == 4, out[-2000:]
    assert f"report folder {tmp_path} is in use by another vmiso run (pid {first.pid})" in out
    assert "Traceback" not in out
    out, _ = first.communicate(timeout=600)
    assert first.returncode == 0, out[-2000:]
    report = json.loads((tmp_path / "controls.json").read_text())
    assert [row["id"] for row in report["controls"]] == ["HV-03"]
    assert report["cells"][0]["status"] == "ran"


def labs_of_cells(proc, count):
    """The run ids of the labs the cells (child processes) of this run started."""
    def find():
        found = [owner.parent.name for owner in STATE_DIR.glob("*/owner")
                 if parent_of(owner.read_text().strip()) == proc.pid]
        return found if len(found) == count else None
    return wait_for(find, f"{count} labs of run {proc.pid}'s cells")


def parent_of(pid):
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_interrupting_a_run_of_several_templates_leaves_nothing_behind(sig, tmp_path):
    """The controller stops each cell as a run is stopped: every cell's guest and lab go."""
    proc = start("--template", "hardened", "--template", "leaky", "--control", "HV-01",
                 report_dir=tmp_path)
    plant_previous_run(tmp_path)
    run_ids = labs_of_cells(proc, 2)
    for run_id in run_ids:
        booting(run_id)
    interrupt(proc, sig)
    assert not [found for run_id in run_ids for found in leftovers(run_id)]
    report = true_report(tmp_path, message="interrupted")
    assert len(report["cells"]) == 2


@pytest.fixture
def held_lab():
    """A lab this test process holds: a host with domains that are none of the suite's runs'."""
    lab = Lab.start(STATE_DIR, ROOT / ".cache" / "libvirt" / "hardened")
    conn = libvirt.open(lab.uri)
    for name in ("unrelated-guest", "vmiso-lookalike"):  # the second carries our prefix only
        conn.createXML(IDLE_DOMAIN.format(name=name), 0)
    yield lab, conn
    conn.close()
    lab.stop()


def running_names(conn):
    return {d.name() for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)}


@pytest.mark.alone
def test_killed_lab_run_is_swept_by_the_next_run_and_other_labs_survive(held_lab, tmp_path):
    lab, conn = held_lab
    proc = start("--control", "HV-03", report_dir=tmp_path / "killed")
    run_id = lab_of(proc)
    booting(run_id)
    proc.kill()
    proc.communicate(timeout=60)
    assert leftovers(run_id), "SIGKILL left nothing: the sweep below would prove nothing"
    run_suite(tmp_path / "next", "suites", "--control", "DEV-04")
    assert not leftovers(run_id)
    assert {"unrelated-guest", "vmiso-lookalike"} <= running_names(conn)
    assert (lab.root / "owner").exists()


@pytest.fixture
def real_host_workroot():
    """A run against the lab as a real host makes this machine's real-host work root; the test
    takes back the folders it made (a real host keeps them)."""
    made = [p for p in (REAL_HOST_WORKROOT, Path(runlease.ROOT), REAL_HOST_WORKROOT.parent)
            if not p.exists()]
    yield REAL_HOST_WORKROOT
    for folder in made:  # the deepest first
        with contextlib.suppress(OSError):  # not empty: something else uses it
            folder.rmdir()


@pytest.mark.alone
def test_killed_run_on_a_real_host_is_swept_by_marks_only(held_lab, real_host_workroot,
                                                          tmp_path):
    lab, conn = held_lab
    host = ["--libvirt-uri", lab.uri, "--network", "vmiso-lab"]
    before = running_names(conn)
    proc = start(*host, "--control", "HV-03", report_dir=tmp_path / "killed")
    guest = wait_for(lambda: sorted(running_names(conn) - before), "the run's guest")[0]
    proc.kill()
    proc.communicate(timeout=60)
    assert guest in running_names(conn)
    proc, report = run_suite(tmp_path / "next", "suites", *host, "--control", "DEV-04")
    killed_run = guest.removeprefix("vmiso-").split("-")[0]
    assert report["run"]["swept"] == [guest, f"lease {killed_run}"]
    assert running_names(conn) == before
    assert not (real_host_workroot / guest).exists()
    assert not list(Path(runlease.ROOT).iterdir()), "a lease outlived its run"


def test_two_runs_at_once_do_not_collide(tmp_path):
    runs = [start("--control", "HV-03,NET-03", report_dir=tmp_path / str(i)) for i in range(2)]
    labs = [lab_of(proc) for proc in runs]
    outputs = [proc.communicate(timeout=600)[0] for proc in runs]
    assert [proc.returncode for proc in runs] == [0, 0], [o[-1500:] for o in outputs]
    assert labs[0] != labs[1]
    assert not leftovers(labs[0]) and not leftovers(labs[1])


def digest(path):
    path = Path(path)
    if not path.exists():
        return None
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    sha = hashlib.sha256()
    for f in files:
        sha.update(str(f).encode() + b"\0" + f.read_bytes())
    return sha.hexdigest()


@pytest.mark.alone
def test_a_run_changes_nothing_outside_its_lab_and_reports_no_secret(tmp_path):
    image = max((ROOT / ".cache" / "guest").glob("*/probe.img"), key=lambda p: p.stat().st_mtime)
    watched = [image, Path("/etc/libvirt"), Path("/var/lib/libvirt")]
    before = [digest(p) for p in watched]
    proc, _ = run_suite(tmp_path, "suites", "--control", "HV-03,SHR-03,NET-01")
    assert [digest(p) for p in watched] == before
    written = proc.stdout + proc.stderr + "".join(
        p.read_text(errors="replace") for p in tmp_path.iterdir() if p.is_file())
    for secret in ("PRIVATE KEY", "ssh-ed25519 AAAA", "authorized_keys"):
        assert secret not in written
