"""An unreachable target proves nothing when the allowed one is unreachable too: error, not pass."""

import json
from pathlib import Path

from tests.support.suite import suite

ROOT = Path(__file__).resolve().parents[2]


def test_cut_positive_twin_makes_host_reach_an_error(tmp_path):
    proc = suite("suites/test_network.py", "-p", "tests.support.plugins.cut_uplink",
                 "--report-dir", str(tmp_path), "-q", "--tb=line", timeout=600)
    report = json.loads((tmp_path / "controls.json").read_text())
    net01 = next(c for c in report["controls"] if c["id"] == "NET-01")
    inside = [c for c in net01["checks"] if c["vantage"] == "inside"]
    assert proc.returncode != 0
    assert net01["status"] == "error", net01
    assert [c["verdict"] for c in inside] == ["error"]
    assert "positive twin failed" in inside[0]["message"]
