"""Selection: --control, --risk and --severity narrow a run to the controls all of them admit,
and -m selects by the severity and risk markers each check carries. Collection only: no guest."""

import json
from pathlib import Path

import pytest

from helpers.verdict import catalog
from tests.support.suite import suite

ROOT = Path(__file__).resolve().parents[2]
CATALOG = catalog.load()


def selected(tmp_path, *options):
    """{check: [control ids]} of the checks `pytest suites OPTIONS` would run."""
    out = tmp_path / "collected.json"
    proc = suite("suites", "--collect-only", "-q", "-p", "tests.support.plugins.collected",
                 *options, timeout=120, env={"VMISO_COLLECTED": str(out)})
    assert proc.returncode == 0, proc.stdout[-1500:] + proc.stderr[-1500:]
    return json.loads(out.read_text())


def controls_of(checks):
    return {cid for ids in checks.values() for cid in ids}


@pytest.fixture(scope="module")
def everything(tmp_path_factory):
    return selected(tmp_path_factory.mktemp("all"))


@pytest.mark.parametrize("options, admits", [
    (["--risk", "4"], lambda c: c.risk == 4),
    (["--risk", "1,7"], lambda c: c.risk in (1, 7)),
    (["--severity", "critical"], lambda c: c.severity == "critical"),
    (["--severity", "medium", "--severity", "low"], lambda c: c.severity in ("medium", "low")),
    (["--risk", "1", "--severity", "critical"],
     lambda c: c.risk == 1 and c.severity == "critical"),
    (["--control", "HV-01,NET-01", "--severity", "critical"],
     lambda c: c.id in ("HV-01", "NET-01") and c.severity == "critical"),
    (["-m", "critical"], lambda c: c.severity == "critical"),
    (["-m", "risk4 or risk7"], lambda c: c.risk in (4, 7)),
])
def test_a_selection_runs_every_check_of_the_controls_it_admits_and_no_other(
        options, admits, tmp_path, everything):
    wanted = {cid for cid, control in CATALOG.items() if admits(control)}
    assert wanted
    expected = {check: ids for check, ids in everything.items() if set(ids) & wanted}
    assert selected(tmp_path, *options) == expected


def test_markers_select_exactly_as_the_options_do(tmp_path):
    assert selected(tmp_path, "-m", "risk4 and critical") == selected(
        tmp_path, "--risk", "4", "--severity", "critical")
