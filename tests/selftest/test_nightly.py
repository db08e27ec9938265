"""Self-tests: the nightly run, several templates in one run, on the lab and on a remote host,
and two nights in a row kept in a history.

One run tests the hardened, the leaky and a virt-install template (and a Xen template, which
cannot boot in a KVM lab): every (host, template, control) verdict must be the one that template
deserves on that host (FAILING, read from the XMLs; the conformance and real-template runs show
each template's run alone reaching them), on the lab and on a remote host (a lab behind an
sshd). The same run split in three shards (given by hand, by GitLab's CI_NODE_INDEX and by a
Kubernetes Indexed Job's JOB_COMPLETION_INDEX) and merged must give the unsharded run's
document, control for control. A handful of controls keeps it affordable; they judge from the inside, the
outside and the template, and tell the templates apart. Two runs a night apart, the template's USB
controller added in between, must name exactly that regression with its first failing date, on
the page a browser shows.
"""

import datetime
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fixtures.lab import LIBVIRT_CACHE, STATE_DIR
from helpers.lab.lab import NETWORK, Lab
from helpers.output import document, history
from tests.support import virtinstall
from tests.support.browser import chromium, colours, png_rows
from tests.support.sshhost import SshHost
from tests.support.suite import ROOT, run_suite

pytestmark = pytest.mark.slow

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


# The three shards as given by hand, by GitLab's `parallel: 3` and by a Kubernetes Indexed Job.
SHARDS = [(1, "1/3", {}), (2, "auto", {"CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "3"}),
          (3, "auto/3", {"JOB_COMPLETION_INDEX": "2"})]


@pytest.fixture(scope="module")
def lab_runs(templates, tmp_path_factory):
    """The run of every template, and the same run in three shards merged."""
    home = tmp_path_factory.mktemp("nightly-lab")
    options = ["suites", "--control", CONTROLS, "--probe-seed", "7"]
    whole = run_suite(home / "whole", *options, *template_options(templates))
    shards = [run_suite(home / f"shard-{k}", *options, *template_options(templates),
                        "--shard", shard, env=env) for k, shard, env in SHARDS]
    merged = subprocess.run([sys.executable, "-m", "scripts.merge",
                             *[str(home / f"shard-{k}") for k in (1, 2, 3)],
                             "--report-dir", str(home / "merged")],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    return whole, shards, merged, home


def each_templates_verdicts(whole):
    """{template: {control: status}} of a run, each template's cell apart."""
    found = {}
    for (_, template, cid), status in table(whole).items():
        found.setdefault(template, {})[cid] = status
    return found


def deserved(failing):
    return {cid: "fail" if cid in failing else "pass" for cid in CONTROLS.split(",")}


def test_one_run_of_every_template_gives_each_template_its_own_verdicts(lab_runs):
    (proc, whole), _, _, _ = lab_runs
    document.validate(whole)
    assert [(c["template"], c["status"]) for c in whole["cells"]] == [
        ("hardened", "ran"), ("leaky", "ran"), ("vi-debian", "ran"), ("xen-web", "ran")]
    assert len({c["host"] for c in whole["controls"]}) == 1
    assert each_templates_verdicts(whole) == {
        **{name: deserved(failing) for name, failing in FAILING.items()},
        "xen-web": dict.fromkeys(CONTROLS.split(","), "error")}, proc.stdout[-3000:]


def test_a_template_that_cannot_boot_errs_on_its_own_controls_and_the_others_go_on(lab_runs):
    (proc, whole), _, _, _ = lab_runs
    xen = [c for c in whole["controls"] if c["template"] == "xen-web"]
    assert {c["id"]: c["status"] for c in xen} == dict.fromkeys(CONTROLS.split(","), "error")
    checks = [check for c in xen for check in c["checks"]]
    assert all("live checks need a Xen host" in check["message"] for check in checks
               if check["verdict"] == "error")
    declared = [check["verdict"] for check in checks if check["declared"]]
    assert declared and set(declared) <= {"pass", "fail"}  # its template checks still decide
    assert proc.returncode == 4  # the template needs another host: fix the run, as alone


def test_three_shards_merge_into_the_unsharded_run(lab_runs):
    (_, whole), shards, merged, home = lab_runs
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
def remote_run(templates, tmp_path_factory):
    home = tmp_path_factory.mktemp("nightly-remote")
    lab = Lab.start(STATE_DIR, LIBVIRT_CACHE / "hardened")
    try:
        with SshHost.start(lab, home / "ssh") as remote:
            options = ["suites", "--control", CONTROLS, "--libvirt-uri", remote.uri,
                       "--network", NETWORK, "--accept-exposing-template"]  # leaky's displays
            yield run_suite(home / "whole", *options, *template_options(templates[:3]),
                            prefix=remote.runner_prefix)
    finally:
        lab.stop()


def test_on_a_remote_host_too_one_run_gives_each_template_its_own_verdicts(remote_run):
    proc, whole = remote_run
    assert len({c["host"] for c in whole["controls"]}) == 1
    assert each_templates_verdicts(whole) == {name: deserved(failing)
                                              for name, failing in FAILING.items()}, \
        proc.stdout[-3000:]
    assert proc.returncode == 1
    assert len({c["run"]["guest"] for c in whole["cells"]}) == 3  # a guest of each
    assert Path(whole["cells"][0]["run"]["guest"]).name  # named in the cell's facts


NIGHT = datetime.timedelta(days=1)


def night_before(folder):
    """The one run recorded in `folder` moved a day back, as if it had run last night."""
    [path] = folder.glob("*.json")
    recorded = json.loads(path.read_text())
    for key in ("started", "finished"):
        moment = datetime.datetime.fromisoformat(recorded[key].replace("Z", "+00:00")) - NIGHT
        recorded[key] = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    path.unlink()
    (folder / history.file_name(recorded["started"])).write_text(json.dumps(recorded))
    return recorded


@pytest.fixture(scope="module")
def two_nights(tmp_path_factory):
    """Two nightly runs with --history; the template's USB controller added in between."""
    home = tmp_path_factory.mktemp("two-nights")
    template, folder = home / "web.xml", home / "history"
    hardened = (ROOT / "templates" / "hardened.xml").read_text()
    template.write_text(hardened)
    options = ["suites", "--template", str(template), "--control", "HV-01,HV-02",
               "--history", str(folder)]
    run_suite(home / "night-1", *options)
    last_night = night_before(folder)
    template.write_text(hardened.replace("<controller type='usb' model='none'/>",
                                         "<controller type='usb' model='qemu-xhci'/>"))
    proc, tonight = run_suite(home / "night-2", *options)
    return last_night, proc, tonight, home / "night-2" / "report.html", home


def test_the_second_night_names_exactly_the_regression_and_since_when(two_nights):
    last_night, proc, tonight, _, _ = two_nights
    assert proc.returncode == 1, proc.stdout[-2000:]
    baseline = tonight["baseline"]
    assert baseline["started"] == last_night["started"]
    assert [(c["template"], c["control"], c["was"], c["now"]) for c in baseline["regressed"]] \
        == [("web", "HV-02", "pass", "fail")]
    assert baseline["fixed"] == baseline["new"] == baseline["gone"] == []
    trend = {c["control"]: c for c in tonight["history"]["controls"]}
    assert [r["started"] for r in tonight["history"]["runs"]] == \
        [last_night["started"], tonight["started"]]
    assert trend["HV-02"]["statuses"] == ["pass", "fail"]
    assert trend["HV-02"]["failing_since"] == tonight["started"]
    assert trend["HV-01"]["statuses"] == ["pass", "pass"] and not trend["HV-01"]["failing_since"]


def test_the_page_shows_the_regression_in_chromium(two_nights):
    last_night, _, tonight, page, home = two_nights
    dom = chromium(home, "--dump-dom", page.as_uri())
    hv02, hv01 = control_row(dom, "HV-02"), control_row(dom, "HV-02".replace("2", "1"))
    assert f"failing since {tonight['started'][:10]}" in hv02
    assert "failing since" not in hv01
    assert strip_rects(hv02) == [("s-pass", last_night["started"][:10]),
                                 ("s-fail", tonight["started"][:10])]
    assert [cls for cls, _ in strip_rects(hv01)] == ["s-pass", "s-pass"]
    regressed = dom[dom.index('id="baseline"'):]
    assert "HV-02" in regressed[:regressed.index("</table>")]
    assert "HV-01" not in regressed[:regressed.index("</table>")]
    shot = home / "two-nights.png"
    chromium(home, f"--screenshot={shot}", "--window-size=1280,900", page.as_uri())
    # the first screen: the matrix's failing cell and the strip's last bar, in their red
    assert bytes(STRIP_FAIL_RED) in colours(*png_rows(shot.read_bytes(), 900))


STRIP_FAIL_RED = (0xC6, 0x28, 0x28)


def control_row(dom, control):
    start = dom.index(f'id="{control}"')
    return dom[start:dom.index("</tbody>", start)]


def strip_rects(row):
    """(class, date) of each bar of the row's history strip."""
    strip = row[row.index('<svg class="strip"'):row.index("</svg>")]
    return re.findall(r'<rect[^>]*class="([^"]+)"[^>]*><title>([0-9-]{10})', strip)


def test_a_cell_that_dies_without_a_report_errs_on_each_control_saying_why(tmp_path):
    """The cell of one template dies (its process ends, no report): each of its controls is an
    error naming the exit status and its log; the other template's cell is judged as ever."""
    (tmp_path / "dies.xml").write_text((ROOT / "templates" / "hardened.xml").read_text())
    proc, report = run_suite(tmp_path / "report", "suites", "--control", "HV-01,DEV-03",
                             "--template", "hardened", "--template", str(tmp_path / "dies.xml"),
                             "-p", "tests.support.plugins.cell_dies")
    assert proc.returncode == 1, proc.stdout[-2000:]
    cells = {c["template"]: c for c in report["cells"]}
    assert cells["hardened"]["status"] == "ran" and cells["dies"]["status"] == "broken"
    assert cells["dies"]["exit_status"] == 137
    assert len({c["host"] for c in report["controls"]}) == 1  # both in the lab's column
    rows = {(c["template"], c["id"]): c for c in report["controls"]}
    assert {rows[("hardened", cid)]["status"] for cid in ("HV-01", "DEV-03")} == {"pass"}
    for cid in ("HV-01", "DEV-03"):
        died = rows[("dies", cid)]
        assert died["status"] == "error"
        assert "ended (exit 137) without a report: the cell's process is killed" in \
            died["checks"][0]["message"]
    assert ("dies", "HV-01") in {(b["template"], b["control"])
                                 for b in report["gate"]["blocking_cells"]}
