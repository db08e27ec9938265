"""Self-tests: ESC-07 passes with a DAC label of the guest's own (a uid no other guest uses). Its
failure under qemu.conf's one user is read from the hardened conformance run
(test_conformance_runs.py), where the sibling shares that user."""

from tests.support.daclabels import IDENTITY_UID, with_label
from tests.support.suite import ROOT, run_suite, statuses

HARDENED = ROOT / "templates" / "hardened.xml"


def _esc07(report):
    return next(c for c in report["controls"] if c["id"] == "ESC-07")


def test_a_guest_with_a_dac_label_of_its_own_passes(tmp_path):
    template = tmp_path / "own-label.xml"
    template.write_text(with_label(HARDENED.read_text(), IDENTITY_UID))
    proc, report = run_suite(tmp_path / "report", "suites", "--template", str(template),
                             "--control", "ESC-07,ESC-01")
    assert statuses(report) == {"ESC-07": "pass", "ESC-01": "pass"}, proc.stdout[-3000:]
    assert f"uid {IDENTITY_UID}" in _esc07(report)["evidence"][0]["observed"]
