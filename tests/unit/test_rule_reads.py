"""What a template check says it looked at ("template: <what the rule reads>"): the same text in
every report, and under `python -O`/`-OO` too (it is data, not a docstring)."""

import subprocess
import sys
from pathlib import Path

import pytest

from helpers.template import rules
from helpers.template.domxml import Domain

ROOT = Path(__file__).resolve().parents[2]
HARDENED = Domain.from_string((ROOT / "templates" / "hardened.xml").read_text())
# The evidence text as reports carry it.
PINNED = {
    "HV-01": "template: floppy disks and i440fx machine types (built-in isa-fdc)",
    "HV-04": "template: emulated NIC models, disk buses, SCSI host adapters and NVMe controllers "
             "(anything but virtio / virtio-scsi; xen under Xen), and raw QEMU -device arguments "
             "of those devices",
    "NET-01": "template: interfaces without a traffic filter (<filterref>)",
    "NET-04": "template: interfaces without a traffic filter (<filterref>)",
    "HV-09": "template: QEMU devices the template makes (the chipset's and libvirt's implicit "
             "ones included) that are not on the policy's allowlist, and devices vmiso does not "
             "model",
}
OPTIMIZED = """\
from helpers.template import rules
from helpers.template.domxml import Domain
dom = Domain.from_string(open("templates/hardened.xml").read())
print(repr(rules.template_check({control!r}, dom, ())[0]))
"""


@pytest.mark.parametrize("control", PINNED)
def test_template_check_names_what_its_rule_reads(control):
    assert rules.template_check(control, HARDENED, ())[0] == PINNED[control]


@pytest.mark.parametrize("flag", ["-O", "-OO"])
def test_the_text_is_the_same_without_docstrings(flag):
    code = OPTIMIZED.format(control="HV-04")
    printed = subprocess.run([sys.executable, flag, "-c", code], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout
    assert printed.strip() == repr(PINNED["HV-04"])


def test_every_rule_says_what_it_reads():
    assert set(rules.RULE_READS) == {rule.__name__ for rule in rules.XML_CONTROLS.values()}
