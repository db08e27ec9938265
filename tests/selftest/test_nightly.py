"""Self-tests: the nightly run, several templates in one run, on the lab and on a remote host.

One run tests the hardened, the leaky and a virt-install template (and a Xen template, which
cannot boot in a KVM lab): every (host, template, control) verdict must equal the one a run of
that template alone reaches, on the lab and on a remote host (a lab behind an sshd). The same
run split in three shards and merged must give the unsharded run's document, control for
control. A handful of controls keeps it affordable; they judge from the inside, the outside and
the template, and tell the templates apart.
"""

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fixtures.lab import LIBVIRT_CACHE, STATE_DIR
from helpers.lab.lab import NETWORK, Lab
from helpers.output import document
from tests.support import virtinstall
from tests.support.sshhost import SshHost
from tests.support.suite import ROOT, run_suite

CONTROLS = "HV-01,HV-02,HV-07,SHR-05,ESC-01"
XEN_PV = """<domain type='xen'><name>xen-web</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='xenpv'>linux</type></os>
  <devices><disk type='file' device='disk'><source file='/srv/xen/web.img'/>
    <target dev='xvda' bus='xen'/></disk><interface type='bridge'>
    <source bridge='xenbr0'/></interface></devices></domain>
"""
# What each template fails among CONTROLS, on a hardened host (the lab, or a remote host
# that is a hardened lab): the leaky template's floppy, USB, svm and balloon; virt-install's
# qemu-xhci and tablet, host-passthrough CPU and virtio balloon.
FAILING = {"hardened": set(), "leaky": {"HV-01", "HV-02", "HV-07", "SHR-05"},
           "vi-debian": {"HV-02", "HV-07", "SHR-05"}}


def table(report):
    return {(c["host"], c["template"], c["id"]): c["status"] for c in report["controls"]}


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nightly-templates")
    disk = folder / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "1G"], check=True)
    lab = Lab.start(STATE_DIR, LIBVIRT_CACHE / "hardened")
    try:
        (folder / "vi-debian.xml").write_text(
            virtinstall.print_xml(lab, "vi-debian", "debian11", disk))
    finally:
        lab.stop()
    (folder / "xen-web.xml").write_text(XEN_PV)
    return ["hardened", "leaky", str(folder / "vi-debian.xml"), str(folder / "xen-web.xml")]


def template_options(names):
    return [option for name in names for option in ("--template", name)]


@pytest.fixture(scope="module")
def lab_runs(templates, tmp_path_factory):
    """The run of every template, each template's run alone, and three shards merged."""
    home = tmp_path_factory.mktemp("nightly-lab")
    options = ["suites", "--control", CONTROLS, "--probe-seed", "7"]
    whole = run_suite(home / "whole", *options, *template_options(templates))
    alone = [run_suite(home / f"alone-{i}", *options, "--template", name)
             for i, name in enumerate(templates)]
    shards = [run_suite(home / f"shard-{k}", *options, *template_options(templates),
                        "--shard", f"{k}/3") for k in (1, 2, 3)]
    merged = subprocess.run([sys.executable, "-m", "scripts.merge",
                             *[str(home / f"shard-{k}") for k in (1, 2, 3)],
                             "--report-dir", str(home / "merged")],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    return whole, alone, shards, merged, home


def test_one_run_of_every_template_equals_each_templates_run_alone(lab_runs):
    (proc, whole), alone, _, _, _ = lab_runs
    document.validate(whole)
    assert [(c["template"], c["status"]) for c in whole["cells"]] == [
        ("hardened", "ran"), ("leaky", "ran"), ("vi-debian", "ran"), ("xen-web", "ran")]
    expected = {}
    for _, report in alone:
        expected.update(table(report))
    assert table(whole) == expected, proc.stdout[-3000:]


def test_each_template_gets_its_own_verdicts(lab_runs):
    (proc, whole), _, _, _, _ = lab_runs
    for name, failing in FAILING.items():
        statuses = {cid: s for (_, t, cid), s in table(whole).items() if t == name}
        assert statuses == {cid: "fail" if cid in failing else "pass"
                            for cid in CONTROLS.split(",")}, (name, proc.stdout[-3000:])


def test_a_template_that_cannot_boot_errs_on_its_own_controls_and_the_others_go_on(lab_runs):
    (proc, whole), _, _, _, _ = lab_runs
    xen = [c for c in whole["controls"] if c["template"] == "xen-web"]
    assert {c["id"]: c["status"] for c in xen} == dict.fromkeys(CONTROLS.split(","), "error")
    checks = [check for c in xen for check in c["checks"]]
    assert all("live checks need a Xen host" in check["message"] for check in checks
               if check["verdict"] == "error")
    declared = [check["verdict"] for check in checks if check["declared"]]
    assert declared and set(declared) <= {"pass", "fail"}  # its template checks still decide
    assert proc.returncode == 4  # the template needs another host: fix the run, as alone


def test_three_shards_merge_into_the_unsharded_run(lab_runs):
    (_, whole), _, shards, merged, home = lab_runs
    assert merged.returncode == 1, merged.stderr  # the gate fails: leaky, vi-debian, xen
    assert sorted(len(report["cells"]) for _, report in shards) == [1, 1, 2]
    assert {report["shard"] for _, report in shards} == {"1/3", "2/3", "3/3"}
    result = json.loads((home / "merged" / "controls.json").read_text())
    document.validate(result)
    assert table(result) == table(whole)
    for key in ("templates", "gate", "summary"):
        assert result[key] == whole[key], key
    # each run had a lab of its own: the same host, at another socket
    assert [dict(h, uri=None) for h in result["hosts"]] == \
        [dict(h, uri=None) for h in whole["hosts"]]
    assert [(c["template"], c["status"]) for c in result["cells"]] == \
        [(c["template"], c["status"]) for c in whole["cells"]]
    for name in ("report.html", "junit.xml", "checks.xml"):
        assert (home / "merged" / name).exists(), name
    suites = ET.parse(home / "merged" / "checks.xml").getroot().findall("testsuite")
    assert len(suites) == 4  # one per cell, from the shards' own checks.xml


@pytest.fixture(scope="module")
def remote_runs(templates, tmp_path_factory):
    home = tmp_path_factory.mktemp("nightly-remote")
    lab = Lab.start(STATE_DIR, LIBVIRT_CACHE / "hardened")
    try:
        with SshHost.start(lab, home / "ssh") as remote:
            options = ["suites", "--control", CONTROLS, "--libvirt-uri", remote.uri,
                       "--network", NETWORK]
            boots = templates[:3]
            whole = run_suite(home / "whole", *options, *template_options(boots),
                              prefix=remote.runner_prefix)
            alone = [run_suite(home / f"alone-{i}", *options, "--template", name,
                               prefix=remote.runner_prefix) for i, name in enumerate(boots)]
            yield whole, alone
    finally:
        lab.stop()


def test_on_a_remote_host_too_one_run_equals_the_runs_alone(remote_runs):
    (proc, whole), alone = remote_runs
    expected = {}
    for _, report in alone:
        expected.update(table(report))
    assert table(whole) == expected, proc.stdout[-3000:]
    for name, failing in FAILING.items():
        statuses = {cid: s for (_, t, cid), s in table(whole).items() if t == name}
        assert {cid for cid, s in statuses.items() if s != "pass"} == failing, name
    assert proc.returncode == 1
    assert len({c["run"]["guest"] for c in whole["cells"]}) == 3  # a guest of each
    assert Path(whole["cells"][0]["run"]["guest"]).name  # named in the cell's facts
