"""JUnit XML with a test suite per cell (a template on a host) and a case per control there
(reports/junit.xml).

    render(document)      # reports/junit.xml (helpers/output/reportdir.py writes it)

CI systems show a test suite per cell, "hardened on kvm1", and in it a case per control, named
by ID and title, its risk factor a property. A failed or drifted control is a <failure>, an
errored one or one the run did not reach an <error> (the suite could not decide), a not
applicable one <skipped>; each message carries the failing evidence, the text the remediation. A waived failure passes with
the waiver in its output; pytest's own per-check XML is reports/checks.xml.
"""

import xml.etree.ElementTree as ET

from helpers.verdict import verdicts, waivers


def render(document):
    root = ET.Element("testsuites", name="vmiso")
    for (host, template), controls in _cells(document).items():
        host = host or "unknown host"
        suite = ET.SubElement(root, "testsuite", name=f"{template} on {host}", hostname=host,
                              tests=str(len(controls)),
                              failures=_count(controls, verdicts.FAIL, verdicts.DRIFT),
                              errors=_count(controls, *verdicts.UNDECIDED),
                              skipped=_count(controls, verdicts.NOT_APPLICABLE),
                              time=f"{sum(c['duration_s'] for c in controls):.3f}",
                              timestamp=document["started"])
        for control in controls:
            _case(suite, control)
    _add_totals(root)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _cells(document):
    """(host, template) -> its control rows, in the order of the document's cells."""
    cells = {(c["host"], c["template"]): [] for c in document.get("cells", [])}
    for row in document["controls"]:
        cells.setdefault((row["host"], row["template"]), []).append(row)
    return cells


def _count(controls, *statuses):
    return str(sum(c["status"] in statuses for c in controls))


def _case(suite, control):
    case = ET.SubElement(suite, "testcase", classname=f"vmiso.risk{control['risk']}",
                         name=f"{control['id']} {control['title']}",
                         time=f"{control['duration_s']:.3f}")
    properties = ET.SubElement(case, "properties")
    ET.SubElement(properties, "property", name="risk_factor",
                  value=f"{control['risk']} {control.get('risk_factor', '')}".strip())
    ET.SubElement(properties, "property", name="severity", value=control["severity"])
    status = control["status"]
    if status in (verdicts.FAIL, verdicts.DRIFT):
        _outcome(case, "failure", status, control, _failing_evidence(control))
    elif status in verdicts.UNDECIDED:
        _outcome(case, "error", status, control, _undecided(control))
    elif status == verdicts.NOT_APPLICABLE:
        ET.SubElement(case, "skipped", message=_undecided(control) or "no check applied")
    if control.get("waiver"):
        ET.SubElement(case, "system-out").text = (
            f"{waivers.describe(control['waiver'])}\n{_failing_evidence(control)}")


def _outcome(case, tag, status, control, message):
    element = ET.SubElement(case, tag, type=status, message=f"{status}: {message}"[:1000])
    lines = [f"{control['id']} {control['title']} ({control['severity']}): {status}", ""]
    lines += [f"[{e['vantage']}] {e['what']}: observed {e['observed']}; expected "
              f"{e['expected']}" for e in control["evidence"] if not e["ok"]]
    lines += [f"[{c['vantage']}] {c['check']}: {c['message']}" for c in control["checks"]
              if c["verdict"] in verdicts.UNDECIDED]
    lines += ["", f"Remediation: {control['remediation']}"]
    if control["references"]:
        lines.append(f"References: {', '.join(control['references'])}")
    element.text = "\n".join(lines)


def _failing_evidence(control):
    bad = [e for e in control["evidence"] if not e["ok"]]
    return "; ".join(f"[{e['vantage']}] {e['what']}: {e['observed']} (expected {e['expected']})"
                     for e in bad) or _undecided(control)


def _undecided(control):
    return "; ".join(f"[{c['vantage']}] {c['message']}" for c in control["checks"]
                     if c["verdict"] in (*verdicts.UNDECIDED, verdicts.NOT_APPLICABLE)
                     and c["message"])


def _add_totals(root):
    for field in ("tests", "failures", "errors", "skipped"):
        root.set(field, str(sum(int(s.get(field)) for s in root)))
