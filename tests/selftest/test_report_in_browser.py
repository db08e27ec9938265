"""The HTML report in a real browser (chromium, `make deps`): the gate's red banner on a white
page, every failing control's evidence open, and in the first screenful of a leaky and of a
hardened report, the first failing control with whose it is and its fix.

VMISO_SCREENSHOTS=DIR keeps the first screenful of each in DIR (docs/report-leaky.png is the
leaky one)."""

import html
import os
import re
import shutil

import pytest

from helpers.output import findings
from helpers.output import html as htmlreport
from helpers.verdict import catalog
from helpers.verdict.verdicts import FAILING
from tests.support.browser import chromium, colours, png_rows
from tests.unit.test_html_report import BANNER_RED, sample

FOLD = (1280, 800)  # a laptop's first screenful
FINDING_BACKGROUND = bytes((0xFD, 0xEC, 0xEA))  # .findings li in htmlreport.CSS


def with_owners(document):
    """A sample written before rows carried their owner, given the catalog's."""
    owners = {cid: control.owner for cid, control in catalog.load().items()}
    for row in document["controls"]:
        row["owner"] = owners[row["id"]]
    return document


def test_report_renders_in_chromium(tmp_path):
    document = sample("leaky")
    page = tmp_path / "report.html"
    htmlreport.write(document, page)
    shot = tmp_path / "shot.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,4000", page.as_uri())
    assert shot.exists(), "chromium wrote no screenshot (could it not open the page?)"
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 100_000, len(data)
    # The top of the page: the gate's red banner over a white page, with text (many shades).
    seen = colours(*png_rows(data, 200))
    assert bytes(BANNER_RED) in seen and b"\xff\xff\xff" in seen and len(seen) > 20, len(seen)

    dom = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert "GATE FAILED" in dom
    for control in document["controls"]:
        if control["status"] in FAILING:
            assert f'id="{control["id"]}"' in dom


@pytest.mark.parametrize("name", ["leaky", "hardened"])
def test_the_first_failing_control_its_owner_and_fix_are_above_the_fold(name, tmp_path):
    document = with_owners(sample(name))
    first = findings.failing(document)[0]
    assert first.owner in ("host", "template", "host or template")
    page = tmp_path / "report.html"
    htmlreport.write(document, page)
    shot = tmp_path / f"report-{name}.png"
    chromium(tmp_path, f"--screenshot={shot}", f"--window-size={FOLD[0]},{FOLD[1]}",
             page.as_uri())
    # The first finding's box is drawn in the first screenful...
    assert FINDING_BACKGROUND in colours(*png_rows(shot.read_bytes(), FOLD[1]))
    # ... and it is the worst failing control, saying whose it is and the fix.
    dom = chromium(tmp_path, "--dump-dom", page.as_uri())
    boxes = re.findall(r'<ul class="findings">\s*<li>(.*?)</li>', dom, re.S)
    assert boxes, "the page lists no failing control first"
    text = html.unescape(re.sub(r"<[^>]+>", "", boxes[0]))
    assert first.row["id"] in text and f"owner: {first.owner}" in text
    assert "fix: " + re.sub(r"\s+", " ", first.fix)[:60] in re.sub(r"\s+", " ", text)
    assert dom.index('class="findings"') < dom.index('id="matrix"')
    keep = os.environ.get("VMISO_SCREENSHOTS")
    if keep:
        shutil.copy(shot, keep)
