"""Bad input gets one line naming the problem and the fix, exit status 4, and no traceback."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_suite(*args):
    return subprocess.run([sys.executable, "-m", "pytest", "suites", "-q", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args, message", [
    (["--template", "/nonexistent/domain.xml"], "cannot be read; use --template hardened"),
    (["--template", "{bad}"], "is not a libvirt domain XML: the root element is <network>"),
    (["--template", "{garbled}"], "is not a libvirt domain XML: not well-formed XML"),
    (["--policy", "{garbled}"], "is malformed"),
    (["--image", "/nonexistent/disk.qcow2"], "pass an existing qcow2 or raw disk image"),
    (["--accel", "warp"], "invalid choice"),
    (["--osv", "/nonexistent/osv"], "OSV folder /nonexistent/osv does not exist; pass one"),
    (["--osv", "{garbled_dir}"], "is not valid JSON"),
])
def test_bad_input_is_one_clear_line(args, message, tmp_path):
    (tmp_path / "network.xml").write_text("<network><name>x</name></network>")
    (tmp_path / "garbled").write_text("<domain><devices>")
    (tmp_path / "osv").mkdir()
    (tmp_path / "osv" / "broken.json").write_text("{not json")
    args = [a.format(bad=tmp_path / "network.xml", garbled=tmp_path / "garbled",
                     garbled_dir=tmp_path / "osv") for a in args]
    proc = run_suite(*args)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 4, output
    assert message in output
    assert "Traceback" not in output
