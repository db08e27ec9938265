"""Self-tests: `--host-profile system` judges this machine's own /etc/libvirt in the lab.

On this machine's stock Debian configuration the hardened template gets the hardened profile's
verdicts (DEV-04 included: the socket is 0777 on purpose under polkit, which admits the libvirt
group alone), but for MGT-05: Debian's qemu.conf lets a migration run in the clear. A machine
with a careless configuration is simulated by a private mount namespace
whose /etc/libvirt and /etc/polkit-1/rules.d are careless copies, bind-mounted for that run
alone: the machine's own files stay as they are.

`vmiso preflight` judges each of the two machines too, without a guest: every control the host
answers for alone gets the verdict the full run gave it (PAT-05, which needs a running QEMU,
is left to the full run), and each fact virt-host-validate also reports agrees with it.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers.lab.labconfig import PROFILES
from helpers.output import document
from helpers.verdict import catalog
from tests.support import hostvalidate
from tests.support.expected import HOST_FAILURES, VANTAGES, expected_status
from tests.support.suite import ROOT, VMISO, finished, run_suite, start, statuses

# What the careless qemu.conf (the leaky profile's lines) breaks: QEMU as root with its
# capabilities and no seccomp or namespaces, no MAC driver (so every guest is root: ESC-07, and
# the escape drill opens its neighbour: ESC-08), QEMU writing the console log itself (DEV-07);
# and what the polkit rule breaks.
CARELESS_FAILS = {"ESC-01", "ESC-02", "ESC-03", "ESC-05", "ESC-07", "ESC-08", "DEV-04", "DEV-07"}
# What Debian's qemu.conf leaves open: migrate_tls_force is 0 (commented out).
STOCK_FAILS = {"MGT-05"}
# A console flood has this machine's virtlogd, at the default weight, copy every byte outside
# both guests' cgroups; on two cores the scheduler takes that CPU from the guest under test in
# some runs and from its flooding neighbour in others (docs/controls.md, DEV-09).
EITHER_WAY = {"DEV-09"}
# The host-level controls: what a host's configuration decides, whatever the template.
HOST_LEVEL = ("ESC-01", "ESC-02", "ESC-03", "ESC-04", "ESC-05", "ESC-06", "ESC-07", "ESC-08",
              "DEV-04", "DEV-07", "MGT-02", "MGT-03", "MGT-05", "PAT-05")
EVERYONE_RULE = """polkit.addRule(function(action, subject) {
    if (action.id == "org.libvirt.unix.manage") {
        return polkit.Result.YES;
    }
});
"""


HOST_ALONE = [cid for cid, control in catalog.load().items() if control.owner == "host"]
NEEDS_A_RUNNING_QEMU = {"PAT-05"}


@pytest.fixture(scope="module")
def stock(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stock")
    before = _files("/etc/libvirt")
    proc, report = run_suite(folder, "suites", "--template", "hardened", "--host-profile",
                             "system")
    assert _files("/etc/libvirt") == before  # read, never written
    return proc, report


@pytest.fixture(scope="module")
def careless_machine(tmp_path_factory):
    """The prefix that runs a command in this machine with a careless /etc/libvirt."""
    tmp_path = tmp_path_factory.mktemp("careless")
    etc = tmp_path / "etc-libvirt"
    shutil.copytree("/etc/libvirt", etc, symlinks=True)
    (etc / "qemu.conf").write_text((etc / "qemu.conf").read_text() + "\n" + PROFILES["leaky"])
    rules = tmp_path / "polkit-rules"
    rules.mkdir()
    (rules / "10-everyone-drives-vms.rules").write_text(EVERYONE_RULE)
    binds = " && ".join(f"mount --bind {source} {target}" for source, target in
                        ((etc, "/etc/libvirt"), (rules, "/etc/polkit-1/rules.d")))
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
            f'{binds} && exec "$@"', "sh"]


@pytest.fixture(scope="module")
def careless(careless_machine, tmp_path_factory):
    return run_suite(tmp_path_factory.mktemp("careless-report"), "suites", "--template",
                     "hardened", "--host-profile", "system", "--control", ",".join(HOST_LEVEL),
                     prefix=careless_machine)


def test_the_stock_configuration_gets_the_hardened_verdicts_but_migration_tls(stock):
    proc, report = stock
    assert report["run"]["host_profile"] == "system"
    found = statuses(report)
    assert {found.pop(cid) for cid in EITHER_WAY} <= {"pass", "fail"}, proc.stdout[-3000:]
    assert found == {cid: "fail" if cid in STOCK_FAILS else expected_status("hardened", cid)
                     for cid in VANTAGES if cid not in EITHER_WAY}, proc.stdout[-3000:]


def test_a_careless_configuration_fails_its_controls(careless):
    proc, report = careless
    found = statuses(report)
    assert found == {cid: "fail" if cid in CARELESS_FAILS | STOCK_FAILS | HOST_FAILURES else "pass"
                     for cid in HOST_LEVEL}, proc.stdout[-3000:]
    assert "every local user (/etc/polkit-1/rules.d/10-everyone-drives-vms.rules)" in \
        proc.stdout
    assert "user = \"root\"" not in Path("/etc/libvirt/qemu.conf").read_text()


@pytest.mark.parametrize("machine", ["stock", "careless"])
def test_a_preflight_gets_the_full_runs_verdicts_for_the_host_alone(machine, request, tmp_path):
    proc, full = request.getfixturevalue(machine)
    prefix = request.getfixturevalue("careless_machine") if machine == "careless" else ()
    preflight = finished(start("--report-dir", str(tmp_path), command=[str(ROOT / VMISO),
                                                                        "preflight"],
                               prefix=prefix), timeout=120)
    report = json.loads((tmp_path / "controls.json").read_text())
    document.validate(report)
    judged = statuses(report)
    assert "preflight" in report["run"] and report["selection"]["preflight"]
    assert not {"HV-01", "NET-05", "PAT-05"} & judged.keys()  # the template's, or a guest's
    compared = [cid for cid in HOST_ALONE if cid in statuses(full)
                and cid not in NEEDS_A_RUNNING_QEMU]
    assert compared and {cid: judged.get(cid) for cid in compared} == \
        {cid: statuses(full)[cid] for cid in compared}, preflight.stdout[-3000:]
    validated = subprocess.run([*prefix, "virt-host-validate", "qemu"], capture_output=True,
                               text=True, timeout=60).stdout
    ours, theirs = hostvalidate.agreement(report, validated)
    assert len(ours) >= 7 and ours == theirs, validated



def _files(folder):
    return {(str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in Path(folder).rglob("*")
            if p.is_file()}
