"""The static run (vmiso check-templates): verdicts, report files and SARIF from template files
alone, in a plain virtual environment without libvirt."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import check_templates
from tests.unit.test_sarif import validate

ROOT = Path(__file__).resolve().parents[2]
LEAKY = ROOT / "templates" / "leaky.xml"


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("static")
    status = check_templates.main(["hardened", "leaky", "--report-dir", str(folder)])
    return status, folder


def statuses(folder, name):
    document = json.loads((folder / name / "controls.json").read_text())
    return {c["id"]: (c["status"], c["checks"][0]["message"]) for c in document["controls"]}


def test_leaky_fails_the_gate_and_hardened_passes_every_decided_control(reports):
    status, folder = reports
    assert status == check_templates.EXIT_FAILED
    hardened, leaky = statuses(folder, "hardened"), statuses(folder, "leaky")
    assert {s for s, _ in hardened.values()} == {"pass", "not_applicable"}
    assert leaky["HV-01"][0] == leaky["HV-09"][0] == "fail"
    assert (folder / "leaky" / "report.html").is_file() and (folder / "leaky" / "junit.xml")


def test_controls_only_a_live_run_decides_are_not_applicable_with_the_reason(reports):
    _, folder = reports
    status, message = statuses(folder, "hardened")["NET-02"]
    assert status == "not_applicable" and message.startswith("static run")


def test_the_sarif_log_validates_and_points_at_the_offending_lines(reports):
    _, folder = reports
    log = json.loads((folder / "vmiso.sarif").read_text())
    validate(log)
    results = log["runs"][0]["results"]
    lines = LEAKY.read_text().splitlines()

    def line_of(rule, text):
        found = next(r for r in results if r["ruleId"] == rule and text in r["message"]["text"])
        location = found["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"].endswith("templates/leaky.xml")
        return lines[location["region"]["startLine"] - 1]

    assert "<sound" in line_of("HV-03", "sound")
    assert "floppy" in line_of("HV-01", "floppy disk")
    assert "<interface" in line_of("HV-04", "interface 1 model e1000")
    assert "host-passthrough" in line_of("HV-07", "cpu mode")


def test_a_broken_template_is_one_line_and_exit_4(tmp_path, capsys):
    broken = tmp_path / "broken.xml"
    broken.write_text("<domain><devices>")
    assert check_templates.main([str(broken), "--report-dir", str(tmp_path),
                                 "--source-root", str(tmp_path)]) == 4
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not well-formed XML" in err


def test_a_missing_template_is_said_to_be_missing(tmp_path, capsys):
    assert check_templates.main([str(tmp_path / "gone.xml"), "--report-dir", str(tmp_path)]) == 4
    assert "gone.xml does not exist; give the path" in capsys.readouterr().err


def test_it_imports_nothing_a_plain_virtual_environment_lacks():
    code = ("import sys, scripts.check_templates; "
            "print(sorted(m for m in ('libvirt', 'paramiko', 'testinfra') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


XL_HVM = """# a Windows desktop on Xen, as xl keeps it
name = "desk"
type = "hvm"
memory = 2048
disk = [ 'format=qcow2, vdev=hda, target=/srv/xen/desk.qcow2' ]
vif = [ 'mac=00:16:3e:00:00:01, bridge=xenbr0, model=e1000' ]
vnc = 1
vnclisten = "0.0.0.0"
usb = 1
usbdevice = [ 'tablet' ]
soundhw = "hda"
"""
XL_PV = """name = "web"
type = "pv"
kernel = "/boot/vmlinuz"
memory = 512
disk = [ 'phy:/dev/vg/web,xvda,w' ]
vif = [ 'bridge=xenbr0' ]
vfb = [ 'vnc=1,vnclisten=127.0.0.1' ]
"""


def test_an_xl_cfg_hvm_guest_gets_the_verdicts_of_its_device_model(tmp_path):
    (tmp_path / "desk.cfg").write_text(XL_HVM)
    check_templates.main([str(tmp_path / "desk.cfg"), "--report-dir", str(tmp_path / "r"),
                          "--source-root", str(tmp_path)])
    found = statuses(tmp_path / "r", "desk")
    failing = {cid for cid, (status, _) in found.items() if status == "fail"}
    assert {"HV-01", "HV-02", "HV-03", "HV-04", "HV-05", "MGT-01"} <= failing
    assert "HV-07" not in failing and "SHR-05" not in failing  # no nestedhvm, Xen's own balloon
    assert found["NET-01"][0] == "not_applicable" and "libxl has no nwfilter" in found["NET-01"][1]


def test_an_xl_cfg_pv_guest_has_no_emulated_device(tmp_path):
    (tmp_path / "web.cfg").write_text(XL_PV)
    check_templates.main([str(tmp_path / "web.cfg"), "--report-dir", str(tmp_path / "r"),
                          "--source-root", str(tmp_path)])
    found = statuses(tmp_path / "r", "web")
    for cid in ("HV-01", "HV-02", "HV-03", "HV-04", "HV-05", "HV-06", "HV-07", "HV-09",
                "MGT-01"):
        assert found[cid][0] == "pass", (cid, found[cid])
    log = json.loads((tmp_path / "r" / "vmiso.sarif").read_text())
    validate(log)


def test_an_xl_cfg_finding_points_at_the_setting_that_made_the_device(tmp_path):
    (tmp_path / "desk.cfg").write_text(XL_HVM)
    check_templates.main([str(tmp_path / "desk.cfg"), "--report-dir", str(tmp_path / "r"),
                          "--source-root", str(tmp_path)])
    results = json.loads((tmp_path / "r" / "vmiso.sarif").read_text())["runs"][0]["results"]
    lines = XL_HVM.splitlines()

    def setting_of(rule):
        found = next(r for r in results if r["ruleId"] == rule)
        return lines[found["locations"][0]["physicalLocation"]["region"]["startLine"] - 1]

    assert setting_of("HV-03").startswith("soundhw")
    assert setting_of("HV-04").startswith(("disk", "vif"))
    assert setting_of("HV-01").startswith("type")
    assert setting_of("MGT-01").startswith("vnc")


def test_the_html_page_says_it_is_a_static_run(reports):
    _, folder = reports
    page = (folder / "leaky" / "report.html").read_text()
    assert "<title>vmiso report: static run of " in page and "no host, no guest" in page
