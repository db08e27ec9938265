"""docs/host-image-gate.md against what it documents: its table of the controls a host owns is
the catalog's, its exit statuses are the vmiso command's, and the example waiver file it links
waives only controls of that table.

    table(catalog.load())   # the table's rows as the page must have them
"""

import datetime
import re
from pathlib import Path

from helpers.verdict import catalog, waivers
from scripts import vmiso

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "host-image-gate.md"
EXAMPLE = ROOT / "docs" / "examples" / "waivers-tcg-host.yaml"
CATALOG = catalog.load()
CONTROL_ROW = re.compile(r"^\| ([A-Z]{2,4}-\d{2}) \|")
STATUS_ITEM = re.compile(r"^- `(\d)` ")


def table(controls):
    """One row per control the host owns, alone or with the template, in catalog order."""
    return [f"| {c.id} | {c.title} | {c.severity} | {c.owner} |"
            for c in controls.values() if c.owner != catalog.TEMPLATE]


def control_rows(text):
    return [line.rstrip() for line in text.splitlines() if CONTROL_ROW.match(line)]


def owned_on_page(text):
    return {CONTROL_ROW.match(row).group(1) for row in control_rows(text)}


def test_the_pages_table_is_the_catalogs():
    expected = table(CATALOG)
    assert control_rows(PAGE.read_text()) == expected, "the table should read:\n" + \
        "\n".join(expected)


def test_a_table_missing_a_row_or_with_another_severity_disagrees():
    rows = table(CATALOG)
    assert control_rows("\n".join(rows[1:])) != rows
    changed = rows[0].replace(f"| {CATALOG['HV-10'].severity} |", "| low |")
    assert control_rows("\n".join([changed] + rows[1:])) != rows


def test_the_page_counts_the_templates_controls():
    mine = sum(c.owner == catalog.TEMPLATE for c in CATALOG.values())
    assert f"other {mine} controls are the template's" in " ".join(PAGE.read_text().split())


def test_the_pages_exit_statuses_are_the_commands():
    shown = {int(STATUS_ITEM.match(line).group(1)) for line in PAGE.read_text().splitlines()
             if STATUS_ITEM.match(line)}
    assert shown == {vmiso.EXIT_PASSED, vmiso.EXIT_FAILED, vmiso.EXIT_INTERRUPTED,
                     vmiso.EXIT_HOST, vmiso.EXIT_USAGE}


def test_the_example_waives_only_controls_the_host_owns():
    text = PAGE.read_text()
    assert f"({EXAMPLE.relative_to(PAGE.parent).as_posix()})" in text  # the page links it
    waived = waivers.load(EXAMPLE, CATALOG, today=datetime.date.today())
    assert waived and set(waived) <= owned_on_page(text), set(waived) - owned_on_page(text)
    assert all(CATALOG[cid].owner != catalog.TEMPLATE for cid in waived)
