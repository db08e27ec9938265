"""Self-tests: ESC-07 on this DAC-only machine. Every guest of the hardened template runs under
qemu.conf's one user, so the control fails and names the sibling that shares the identity; a
template with a DAC label of its own (a uid no other guest uses) passes."""

import pytest

from tests.support.expected import HAS_MAC
from tests.support.suite import ROOT, run_suite, statuses

HARDENED = ROOT / "templates" / "hardened.xml"
OWN_LABEL = ("<seclabel type='static' model='dac' relabel='yes'><label>+20001:+64055</label>"
             "</seclabel>")


def _esc07(report):
    return next(c for c in report["controls"] if c["id"] == "ESC-07")


@pytest.mark.skipif(HAS_MAC, reason="a MAC label per guest answers for ESC-07 on this host")
def test_guests_under_the_default_user_share_one_identity(tmp_path):
    proc, report = run_suite(tmp_path, "suites", "--template", "hardened", "--control",
                             "ESC-07,NET-05")
    assert statuses(report)["ESC-07"] == "fail", proc.stdout[-3000:]
    observed = " ".join(e["observed"] for e in _esc07(report)["evidence"])
    assert "libvirt's default DAC label" in observed
    assert "hardened-2)" in observed, observed  # the sibling, under the same uid


def test_a_guest_with_a_dac_label_of_its_own_passes(tmp_path):
    template = tmp_path / "own-label.xml"
    template.write_text(HARDENED.read_text().replace("</devices>", f"</devices>\n  {OWN_LABEL}",
                                                     1))
    proc, report = run_suite(tmp_path / "report", "suites", "--template", str(template),
                             "--control", "ESC-07,ESC-01")
    assert statuses(report) == {"ESC-07": "pass", "ESC-01": "pass"}, proc.stdout[-3000:]
    assert "uid 20001" in _esc07(report)["evidence"][0]["observed"]
