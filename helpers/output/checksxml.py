"""checks.xml of a run of several cells: pytest's own per-check JUnit file of each cell, joined.

    render([Path("reports/cells/001-hardened-lab/checks.xml"), ...])   # reports/checks.xml

Each cell's suites keep their cases, renamed after the cell's folder so that CI shows which
template on which host a check ran for.
"""

import xml.etree.ElementTree as ET

TOTALS = ("tests", "failures", "errors", "skipped")


def join(paths):
    root = ET.Element("testsuites", name="vmiso checks")
    for path in paths:
        found = ET.parse(path).getroot()
        suites = [found] if found.tag == "testsuite" else found.findall("testsuite")
        for suite in suites:
            suite.set("name", path.parent.name)
            root.append(suite)
    for total in TOTALS:
        root.set(total, str(sum(int(s.get(total, 0)) for s in root)))
    return root


def render(paths):
    return ET.tostring(join(paths), encoding="unicode", xml_declaration=True) + "\n"

