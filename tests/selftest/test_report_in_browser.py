"""The HTML report in a real browser (chromium, `make deps`): the gate's red banner on a white
page, and every failing control's evidence open."""

from helpers.output import html as htmlreport
from helpers.verdict.verdicts import FAILING
from tests.support.browser import chromium, colours, png_rows
from tests.unit.test_html_report import BANNER_RED, sample


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
