"""pytest plugin: per-control verdicts, as a terminal table and the report files.

    pytest suites --template hardened --control HV-01,NET-02 --fail-on high

Checks carry `@pytest.mark.control("HV-01", ...)` and one of `@pytest.mark.inside` or
`@pytest.mark.outside`; they record evidence through the `evidence` fixture. At the end of the
run each control's verdict aggregates its checks (helpers/verdict/rows.py) into the run's
document (helpers/output/document.py), printed as a table (helpers/output/terminal.py); the gate
(--fail-on, waivers) sets the exit status. The report directory gets controls.json, report.html,
junit.xml (a case per control) and checks.xml (pytest's own, a case per check with its control
IDs and verdict as properties).

Each check is also marked with its controls' severity and risk factor, so `-m critical` or
`-m "risk4 and not low"` select as pytest users expect, beside --control, --risk and --severity
(helpers/plugin/selection.py).
"""

import time
from pathlib import Path

import pytest

from helpers.output import document as document_mod
from helpers.output import reportdir, terminal
from helpers.plugin import cells, selection
from helpers.plugin.inputs import inputs_key
from helpers.plugin.options import EXIT_USAGE
from helpers.verdict import catalog as catalog_mod
from helpers.verdict import frameworks, rows, verdicts
from helpers.verdict.evidence import Evidence

VANTAGES = ("inside", "outside")
evidence_key = pytest.StashKey[Evidence]()


class ControlReport:
    """Collects check results during the run and writes the per-control report at the end."""

    def __init__(self, config, catalog):
        self.config = config
        self.catalog = catalog
        self.checks = []  # dicts: nodeid, controls, vantage, verdict, message, evidence
        self.started = time.time()
        self.context = {}  # run facts fixtures add: template, accelerator, versions ...
        self.document = None  # written at session end
        self.other_failures = False  # a failed item that checks no control
        self.wanted = {}  # --control, --risk, --severity as given (read at collection)
        self.refused = False  # a cell of a run of several refused its template
        self.cell_checks = []  # a run of several: each cell's checks.xml, joined into the run's

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session, config, items):
        for item in items:
            controls = item_controls(item)
            if not controls:
                continue
            unknown = [c for c in controls if c not in self.catalog]
            if unknown:
                raise pytest.UsageError(f"{item.nodeid} is marked with unknown control "
                                        f"{', '.join(unknown)}; add it to catalog/controls.toml")
            vantage = [v for v in VANTAGES if item.get_closest_marker(v)]
            if len(vantage) != 1:
                raise pytest.UsageError(f"{item.nodeid} needs exactly one of "
                                        f"@pytest.mark.inside / @pytest.mark.outside")
            item.stash[evidence_key] = Evidence(vantage[0])
            item.user_properties.append(("controls", " ".join(controls)))
            for cid in controls:
                item.add_marker(self.catalog[cid].severity)
                item.add_marker(f"risk{self.catalog[cid].risk}")
        self._select(config, items)

    def _select(self, config, items):
        """--control, --risk, --severity: keep the checks of the controls all of them admit."""
        wanted = self.wanted = selection.given(config, self.catalog)
        if not wanted:
            return
        admitted = selection.admitted(self.catalog, wanted)
        dropped = [item for item in items if not admitted & set(item_controls(item))]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = [item for item in items if item not in dropped]

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        if evidence_key not in item.stash:
            self.other_failures |= report.failed
            return report
        if not self._concludes(report):
            return report
        evidence = item.stash[evidence_key]
        is_assertion = call.excinfo is not None and call.excinfo.errisinstance(AssertionError)
        verdict = verdicts.check_verdict(report.outcome, is_assertion and report.when == "call",
                                         evidence.mitigated_by is not None)
        message = "" if call.excinfo is None else _one_line(call.excinfo)
        if report.skipped and isinstance(report.longrepr, tuple):
            message = report.longrepr[2]
        self.checks.append({
            "check": item.nodeid, "controls": item_controls(item), "vantage": evidence.vantage,
            "declared": item.get_closest_marker("declared") is not None, "verdict": verdict,
            "message": message, "duration_s": round(report.duration, 3),
            "evidence": [e.as_dict() for e in evidence.entries],
        })
        item.user_properties.append(("verdict", verdict))
        return report

    @staticmethod
    def _concludes(report):
        """The phase that decides a check: a failed or skipped setup, else the call."""
        return report.when == "call" or (report.when == "setup" and not report.passed)

    def controls(self, checks=None, context=None):
        """Each control's row: its checks (this run's, or the `checks` given with the `context`
        they ran in) aggregated (helpers/verdict/rows.py)."""
        adapted = (self.context if context is None else context).get("adapted_controls", ())
        inputs = self.config.stash.get(inputs_key, None)
        return rows.rows(self.catalog, self.checks if checks is None else checks, adapted,
                         inputs.waivers if inputs is not None else {})

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session):
        if self.document is None:
            if not self.checks:
                return
            self.document = self._document()
        self._compare(self.document)
        if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) \
                and not self.other_failures:
            session.exitstatus = (pytest.ExitCode.TESTS_FAILED
                                  if self.document["gate"]["blocking"] else pytest.ExitCode.OK)
        if self.refused or "template_refused" in self.context:
            session.exitstatus = EXIT_USAGE  # fix the template, not the host
        name = self.config.getoption("framework")
        if name:
            self.document["framework"] = frameworks.load(name).group(self.document["controls"])
        self._write(self.document)

    def _write(self, document):
        # a run of several cells: pytest's own checks.xml has none of their checks
        reportdir.write(document, Path(self.config.getoption("report_dir")), self.cell_checks,
                        self.config.getoption("history"))

    def _document(self):
        context = dict(self.context, **self._file_facts(self.context))
        inputs = self.config.stash.get(inputs_key, None)
        context.setdefault("template", str(inputs.template_path) if inputs else None)
        context["given_uri"] = cells.uri_for(self.config)
        return document_mod.build(self.controls(), context, self.started, time.time(),
                                  self.config.getoption("fail_on"), self.wanted)

    def _file_facts(self, context):
        """Path and SHA-256 of the template and the image the run used."""
        inputs = self.config.stash.get(inputs_key, None)
        facts = {}
        if inputs is not None:
            facts["template_file"] = document_mod.file_facts(inputs.template_path)
        if "image" in context:
            facts["image_file"] = document_mod.file_facts(context["image"])
        return facts

    def _compare(self, document):
        inputs = self.config.stash.get(inputs_key, None)
        try:
            reportdir.finish(document, inputs.baseline if inputs else None,
                             self.config.getoption("baseline"), self.config.getoption("history"))
        except reportdir.ReportError as err:
            raise pytest.UsageError(str(err)) from None

    def pytest_terminal_summary(self, terminalreporter):
        if self.document is None:
            return
        for line in terminal.lines(self.document, self.config.getoption("report_dir")):
            if line.rule:
                terminalreporter.section(line.text, sep=line.rule)
            else:
                terminalreporter.write_line(line.text, **dict.fromkeys(line.markup, True))


def item_controls(item):
    return [cid for mark in item.iter_markers("control") for cid in mark.args]


def _one_line(excinfo):
    text = str(excinfo.value).strip().splitlines()
    return f"{excinfo.typename}: {text[0] if text else ''}"[:300]


def pytest_configure(config):
    for severity in catalog_mod.SEVERITIES:
        config.addinivalue_line("markers", f"{severity}: checks of controls of this severity")
    for risk, name in catalog_mod.RISK_FACTORS.items():
        config.addinivalue_line("markers", f"risk{risk}: checks of risk factor {risk} ({name})")
    config.pluginmanager.register(ControlReport(config, catalog_mod.load()), "vmiso-report")
