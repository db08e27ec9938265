"""The HTML report: the gate's verdict, every control with its failing evidence open, markup from
guests escaped, nothing fetched, and a page that a real browser (chromium, `make deps`) renders.
"""

import copy
import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.output import html as htmlreport
from helpers.verdict.verdicts import FAILING

DATA = Path(__file__).resolve().parents[1] / "support" / "data"
BANNER_RED = (0xB7, 0x1C, 0x1C)  # .verdict.failed in htmlreport.CSS


def sample(name):
    return json.loads((DATA / f"report-{name}.json").read_text())


class Page(HTMLParser):
    """Per control (its <tbody id>): the cells of its row, whether its <details> is open, and the
    text inside them, as a browser would read it."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.controls = {}
        self.current = self.where = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tbody" and "id" in attrs:
            self.current = {"row": [], "open": None, "details": []}
            self.controls[attrs["id"]] = self.current
            self.where = "row"
        elif self.current and tag == "details":
            self.current["open"] = "open" in attrs
            self.where = "details"
        elif self.current and tag == "td" and self.where == "row":
            self.current["row"].append("")

    def handle_endtag(self, tag):
        if tag == "tbody":
            self.current = self.where = None
        elif (tag, self.where) in (("tr", "row"), ("details", "details")):
            self.where = None

    def handle_data(self, data):
        if self.current and self.where == "row" and self.current["row"]:
            self.current["row"][-1] += data
        elif self.current and self.where == "details":
            self.current["details"].append(data)


@pytest.mark.parametrize("name", ["leaky", "hardened"])
def test_every_control_shows_its_status_and_failing_ones_their_evidence_open(name):
    document = sample(name)
    text = htmlreport.render(document)
    page = Page(text)
    assert list(page.controls) == [c["id"] for c in document["controls"]]
    for control in document["controls"]:
        shown = page.controls[control["id"]]
        assert shown["row"][0] == control["id"] and shown["row"][4] == control["status"]
        failing = control["status"] in FAILING
        assert shown["open"] == failing, control["id"]
        if not failing:
            continue
        details = "".join(shown["details"])
        assert control["remediation"] in details
        assert html.escape(control["remediation"]) in text
        for entry in control["evidence"]:
            if not entry["ok"]:
                assert entry["what"] in details and entry["observed"] in details
                assert html.escape(entry["what"]) in text
                assert html.escape(entry["observed"]) in text


def two_hosts():
    """The hardened sample on host a and the leaky one on host b, as a run over both reports."""
    hardened, leaky = sample("hardened"), sample("leaky")
    document = copy.deepcopy(leaky)
    rows = [dict(c, host="a") for c in hardened["controls"]] + \
        [dict(c, host="b") for c in leaky["controls"]]
    document["controls"] = rows
    document["hosts"] = [dict(hardened["host"], name="a"), dict(leaky["host"], name="b")]
    return document


def test_several_hosts_get_a_row_each_and_links_to_the_failing_host():
    document = two_hosts()
    text = htmlreport.render(document)
    page = Page(text)
    assert list(page.controls) == [f"{c['id']}@{c['host']}" for c in document["controls"]]
    for control in document["controls"]:
        row = page.controls[f"{control['id']}@{control['host']}"]["row"]
        assert row[1].endswith(f"on {control['host']}")
    only_on_b = next(c["id"] for c in document["controls"] if c["host"] == "b"
                     and c["status"] in FAILING and c["id"] not in hardened_failures())
    assert f'href="#{only_on_b}@b"' in text
    assert "<td>a</td>" in text and "<td>b</td>" in text  # each host's facts


def hardened_failures():
    return {c["id"] for c in sample("hardened")["controls"] if c["status"] in FAILING}


def test_waiver_and_error_are_shown():
    document = sample("hardened")
    waived = next(c for c in document["controls"] if "waiver" in c)
    waived["waiver"]["active"] = False
    page = Page(htmlreport.render(document))
    details = "".join(page.controls[waived["id"]]["details"])
    assert waived["waiver"]["reason"] in details and waived["waiver"]["owner"] in details
    assert "WAIVER EXPIRED" in details
    error = next(c for c in document["controls"] if c["status"] == "error")
    assert page.controls[error["id"]]["open"]
    assert error["checks"][0]["message"] in "".join(page.controls[error["id"]]["details"])


def test_markup_in_evidence_is_escaped():
    document = sample("leaky")
    entry = document["controls"][0]["evidence"][0]
    entry["observed"] = "<script>alert(1)</script> and <b>x</b>"
    text = htmlreport.render(document)
    assert "<script" not in text and "<b>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; and &lt;b&gt;x&lt;/b&gt;" in text


def test_adaptations_and_a_refused_template_are_shown_escaped():
    document = sample("hardened")
    document["run"]["adaptations"] = ["<serial type='file'> /srv/f -> file /run/x/serial0.out"]
    document["run"]["template_refused"] = "libvirt refused <watchdog>: change or remove it"
    page = htmlreport.render(document)
    assert "&lt;serial type=&#x27;file&#x27;&gt; /srv/f" in page
    assert "libvirt refused &lt;watchdog&gt;" in page


def test_the_page_fetches_nothing():
    text = htmlreport.render(sample("leaky"))
    links = re.findall(r"""\b(?:src|href|srcset|action|data)\s*=\s*["']?([^"'\s>]*)""", text)
    assert links and all(link.startswith("#") for link in links)
    for tag in ("<script", "<link", "<img", "<iframe", "<object", "<embed"):
        assert tag not in text
    assert "url(" not in htmlreport.CSS and "@import" not in htmlreport.CSS
    assert "default-src 'none'" in text


def test_baseline_section_lists_every_regressed_control():
    document = sample("leaky")
    baseline = document["baseline"]
    text = htmlreport.render(document)
    assert f"Since {baseline['started']} ({baseline['path']})" in text
    regressed = re.search(r'<div class="regressed">(.*?)</div>', text, re.S).group(1)
    assert baseline["regressed"]
    for change in baseline["regressed"]:
        assert f">{change['control']}<" in regressed
    assert text.index('class="regressed"') < text.index("<h3>fixed")


def test_no_baseline_no_section():
    text = htmlreport.render(sample("hardened"))
    assert "Since " not in text and 'id="baseline"' not in text


def verdict_line(text):
    return re.search(r'<p class="verdict[^"]*">(.*?)</p>', text, re.S).group(1)


def test_gate_verdict_names_the_blocking_controls():
    document = sample("leaky")
    line = verdict_line(htmlreport.render(document))
    assert "GATE FAILED" in line
    assert document["gate"]["blocking"]
    for control in document["gate"]["blocking"]:
        assert f">{control}<" in line


def test_gate_passes_without_blocking_controls():
    document = sample("leaky")
    document["gate"]["blocking"] = []
    text = htmlreport.render(document)
    assert "GATE PASSED" in verdict_line(text) and "GATE FAILED" not in text


def test_write_is_utf8(tmp_path):
    document = sample("hardened")
    document["controls"][0]["title"] = "caf\u00e9 \u2603"
    htmlreport.write(document, tmp_path / "report.html")
    assert "caf\u00e9 \u2603" in (tmp_path / "report.html").read_text(encoding="utf-8")


SMALL = sample("hardened")
SMALL["controls"] = [c for c in SMALL["controls"] if c["status"] in ("fail", "pass")][:2]


def with_text(text):
    document = copy.deepcopy(SMALL)
    for control in document["controls"]:
        control["title"] = control["remediation"] = text
        control["evidence"][0]["what"] = control["evidence"][0]["observed"] = text
    return document


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_text_is_rendered_escaped(text):
    page = htmlreport.render(with_text(text))
    assert html.escape(text) in page
    # The same page for plain text has as many tags: none came from the fields.
    assert page.count("<") == htmlreport.render(with_text("x")).count("<")
