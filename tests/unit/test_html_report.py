"""The HTML report: the gate's verdict, every control with its failing evidence open, markup from
guests escaped, nothing fetched, and a page that a real browser (chromium, `make deps`) renders.
"""

import copy
import html
import json
import re
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.output import document as docmod
from helpers.output import history
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
    failing_first = sorted(document["controls"], key=lambda c: c["status"] not in FAILING)
    assert list(page.controls) == [c["id"] for c in failing_first]
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


def grid(templates=("hardened", "leaky")):
    """Two templates on two hosts, a cell of each colour: hardened on kvm1 with only an error
    failing, hardened on kvm2 passing, leaky on kvm1 failing, leaky on kvm2 broken."""
    hardened, leaky = sample("hardened"), sample("leaky")
    first, second = templates
    cells = {("kvm1", first): [dict(c, status="pass" if c["status"] == "fail" else c["status"])
                               for c in hardened["controls"]],
             ("kvm2", first): [dict(c, status="pass") for c in hardened["controls"]],
             ("kvm1", second): leaky["controls"],
             ("kvm2", second): [dict(c, status="error") for c in leaky["controls"]]}
    rows = [dict(c, host=host, template=template) for (host, template), controls in cells.items()
            for c in controls]
    broken = "the cell's run ended (exit 3) without a report: <lost> & gone"
    document = copy.deepcopy(leaky)
    document.update(
        controls=rows,
        hosts=[dict(leaky["host"], name="kvm1"), dict(leaky["host"], name="kvm2")],
        templates=[dict(hardened["templates"][0], name=first),
                   dict(leaky["templates"][0], name=second)],
        cells=[{"host": host, "template": template, "status": "ran", "exit_status": 1,
                "duration_s": 40.0, "message": ""} for host, template in cells],
        gate={"fail_on": "any",
              "blocking": list(dict.fromkeys(c["id"] for c in rows if c["status"] in FAILING)),
              "blocking_cells": [{"host": c["host"], "template": c["template"],
                                  "control": c["id"]} for c in rows if c["status"] in FAILING]})
    document["cells"][3].update(status="broken", exit_status=3, message=broken)
    for change in document["baseline"]["regressed"]:
        change["host"], change["template"] = "kvm1", second
    document["template"] = document["image"] = {"path": None, "sha256": None}
    return document


class Links(HTMLParser):
    """Every id on the page, every #link, and the matrix's cells as (class, href, count)."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.ids, self.links, self.cells = [], [], []
        self.in_count = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "a" and attrs.get("href", "").startswith("#"):
            self.links.append(attrs["href"][1:])
        if tag == "td" and "cell" in attrs.get("class", "").split():
            self.cells.append([attrs["class"], None, None])
        if tag == "a" and self.cells and self.cells[-1][1] is None:
            self.cells[-1][1] = attrs["href"][1:]
        self.in_count = attrs.get("class") == "count"

    def handle_data(self, data):
        if self.in_count:
            self.cells[-1][2] = int(data)
            self.in_count = False


def test_the_matrix_counts_and_colours_each_cell():
    document = grid()
    text = htmlreport.render(document)
    shown = Links(text).cells
    assert text.index('class="matrix"') < text.index("<h2>Run</h2>")
    assert verdict_line(text) and text.index('class="verdict') < text.index('class="matrix"')
    # Template by template (rows), host by host (columns).
    expected = [("hardened", "kvm1", "c-error", 1), ("hardened", "kvm2", "c-pass", 0),
                ("leaky", "kvm1", "c-fail", 36), ("leaky", "kvm2", "c-error", 38)]
    assert len(shown) == len(expected)
    for (klass, href, count), (template, host, colour, failing) in zip(shown, expected):
        assert klass.split() == ["cell", colour] and count == failing
        assert href == htmlreport.cell_anchor(template, host) == f"{template}@{host}"
    assert "(broken)" in text and "&lt;lost&gt; &amp; gone" in text


def test_every_link_leads_to_an_id_on_the_page():
    for document in (grid(), grid(("<b>\"tpl\" #1</b>", "léaky 100%")), sample("leaky")):
        page = Links(htmlreport.render(document))
        assert len(page.ids) == len(set(page.ids))
        assert page.links and set(page.links) <= set(page.ids)


def test_each_cell_has_a_row_per_control_linked_from_the_gate():
    document = grid()
    text = htmlreport.render(document)
    page = Page(text)
    expected = [f"{c['id']}@{c['template']}@{c['host']}" for c in document["controls"]]
    assert sorted(page.controls) == sorted(expected)
    for control in document["controls"]:
        row = page.controls[f"{control['id']}@{control['template']}@{control['host']}"]["row"]
        assert row[1].endswith(f"{control['template']} on {control['host']}")
        assert row[4] == control["status"]
    line = verdict_line(text)  # each blocking control linked once, to its first cell
    assert 'href="#PAT-03@hardened@kvm1"' in line and 'href="#HV-01@leaky@kvm1"' in line
    assert line.count('href="#HV-01@') == 1 and "on 3 cells" in line
    assert "<td>kvm1</td>" in text and "<td>kvm2</td>" in text  # each host's facts


def test_template_names_are_escaped_everywhere():
    name = "<i>x</i> & \"y\""
    text = htmlreport.render(grid((name, "leaky")))
    assert "<i>" not in text
    assert text.count(html.escape(name)) >= 3  # the matrix, the templates, the sections


def test_the_baseline_names_host_and_template():
    text = htmlreport.render(grid())
    regressed = re.search(r'<div class="regressed">(.*?)</div>', text, re.S).group(1)
    assert "<th>host</th><th>template</th>" in regressed
    assert "<td>kvm1</td><td>leaky</td>" in regressed
    assert 'href="#DEV-01@leaky@kvm1"' in regressed


def test_a_broken_cell_says_why():
    text = htmlreport.render(grid())
    section = re.search(r'<section id="leaky@kvm2".*?</section>', text, re.S).group(0)
    assert re.search(r'<p class="broken">.*exit status 3.*&lt;lost&gt; &amp; gone', section)


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


def with_history(document, folder):
    """`document` after two recorded runs: ESC-06 passed in the first, PAT-03 was not tested
    in the first and passed in the second."""
    earlier = {"2026-11-20T03:00:00.000Z": {"ESC-06": "pass", "PAT-03": None},
               "2026-11-21T03:00:00.000Z": {"PAT-03": "pass"}}
    for started, changes in earlier.items():
        run = copy.deepcopy(document)
        run["started"] = started
        run["controls"] = [dict(c, status=changes.get(c["id"], c["status"]))
                           for c in run["controls"] if changes.get(c["id"], "") is not None]
        history.record(run, folder)
    return dict(document, history=history.trend(document, folder))


def tbody(text, anchor):
    return re.search(rf'<tbody id="{anchor}".*?</tbody>', text, re.S).group(0)


def test_history_shows_a_strip_per_control_and_since_when_it_fails(tmp_path):
    document = with_history(sample("hardened"), tmp_path)
    docmod.validate(document)
    text = htmlreport.render(document)
    today = document["started"][:10]
    for control in document["controls"]:
        row = tbody(text, control["id"])
        assert row.count("<rect") == 3 and row.count('<svg class="strip"') == 1
        assert f"<title>{today}: {control['status']}</title>" in row
        assert ('class="since"' in row) == (control["status"] in FAILING)
    esc06 = tbody(text, "ESC-06")
    assert '<rect x="1" y="1" width="6" height="12" class="s-pass">' in esc06
    assert ('<span class="since" title="2026-11-21T03:00:00.000Z">failing since 2026-11-21'
            '</span>') in esc06
    pat03 = tbody(text, "PAT-03")
    assert 'class="s-none"><title>2026-11-20: not run</title>' in pat03
    assert f"failing since {today}" in pat03


def test_no_history_no_strip():
    text = htmlreport.render(sample("leaky"))
    assert "<svg" not in text and 'class="since"' not in text and "last runs" not in text


def big_matrix(templates=8, hosts=4, runs=14):
    """`templates` x `hosts` cells of the leaky sample's rows, each with `runs` runs of history."""
    leaky = sample("leaky")
    keys = [(f"kvm{h}", f"template-{t}") for t in range(templates) for h in range(hosts)]
    rows = [dict(c, host=host, template=template) for host, template in keys
            for c in leaky["controls"]]
    dates = [f"2026-11-{day:02d}T03:00:00.000Z" for day in range(1, runs + 1)]
    statuses = ["pass", "fail", None, "error", "drift", "waived", "not_applicable"]
    return dict(leaky, controls=rows,
                hosts=[dict(leaky["host"], name=f"kvm{h}") for h in range(hosts)],
                templates=[dict(leaky["templates"][0], name=f"template-{t}")
                           for t in range(templates)],
                cells=[dict(leaky["cells"][0], host=host, template=template)
                       for host, template in keys],
                history={"dir": "history", "runs": [{"started": d, "file": f"{d}.json"}
                                                    for d in dates],
                         "controls": [{"host": c["host"], "template": c["template"],
                                       "control": c["id"],
                                       "statuses": [statuses[(i + n) % 7] for n in range(runs)],
                                       "failing_since": dates[-1]}
                                      for i, c in enumerate(rows)]})


def test_a_large_matrix_with_history_renders_fast():
    document = big_matrix()
    started = time.perf_counter()
    text = htmlreport.render(document)
    took = time.perf_counter() - started
    assert text.count('<td class="cell c-') == 32 and text.count("<rect") == 32 * 38 * 14
    assert took < 1.0, f"{took:.2f} s"


def test_an_old_feed_is_warned_of_on_the_page_and_in_the_terminal():
    from helpers.output.terminal import feed_warnings

    document = sample("leaky")
    facts = {"feed": "osv/feeds", "records": 15, "date": "2025-11-20",
             "warning": "the OSV feed is 375 days old (newest record 2025-11-20; the policy "
                        "allows 7): refresh it with vmiso osv-update"}
    document["run"]["osv"] = facts
    for cell in document["cells"]:
        cell.setdefault("run", {})["osv"] = dict(facts)
    page = htmlreport.render(document)
    assert page.count("375 days old") == 1 and 'class="warning"' in page
    assert feed_warnings(document) == [facts["warning"]]
