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

import pytest

from helpers.lab import mounts
from helpers.local import interrupts
from helpers.output import document as document_mod
from helpers.output import reportdir, terminal
from helpers.plugin import selection
from helpers.plugin.inputs import inputs_key
from helpers.plugin.options import EXIT_USAGE, runs_suites
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
        self.folder = None  # the report folder, held from configure to unconfigure
        self.items = []  # the selected checks (collected items marked with a control)
        self.ended_by = None  # (cell status, the line) where the run ends before its end
        self.written = False

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

    def pytest_collection_finish(self, session):
        self.items = [item for item in session.items if item_controls(item)]

    def _select(self, config, items):
        """--control, --risk, --severity: keep the checks of the controls all of them admit;
        --preflight: of those, the checks that judge the host without a guest."""
        wanted = self.wanted = selection.given(config, self.catalog)
        preflight = config.getoption("preflight")
        if not wanted and not preflight:
            return
        admitted = selection.admitted(self.catalog, wanted)
        dropped = [item for item in items if not admitted & set(item_controls(item))]
        if preflight:
            self.wanted["preflight"] = True
            guestless = [item for item in items if item not in dropped and
                         not selection.in_preflight(item.fixturenames, item_controls(item),
                                                    self.catalog)]
            kept = [item for item in items if item not in dropped and item not in guestless]
            self._note_preflight(guestless, kept)
            dropped += guestless
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = [item for item in items if item not in dropped]

    def _note_preflight(self, left, kept):
        """The preflight's word on what it leaves to a full run: the controls whose checks all
        need a guest or judge the template alone."""
        judged = {cid for item in kept for cid in item_controls(item)}
        unjudged = {cid for item in left for cid in item_controls(item)} - judged
        self.context["preflight"] = (
            f"the host alone, no guest: {len(left)} checks that need a guest or judge the "
            f"template alone are left to a full run, and with them "
            f"{', '.join(sorted(unjudged, key=list(self.catalog).index)) or 'no control'}")

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
        context = self.context if context is None else context
        checks = self.checks if checks is None else checks
        if context.get("lab_root"):
            checks = [_as_host_paths(check, context["lab_root"]) for check in checks]
        inputs = self.config.stash.get(inputs_key, None)
        return rows.rows(self.catalog, checks, context.get("adapted_controls", ()),
                         inputs.waivers if inputs is not None else {})

    def claim_folder(self):
        """Hold the report folder for the whole run, clear the previous run's files, and write
        a report saying the run has not finished: a run killed outright leaves that, never the
        previous run's verdicts."""
        try:
            self.folder = reportdir.ReportFolder(self.config.getoption("report_dir")).claim()
        except reportdir.ReportError as err:
            raise pytest.UsageError(str(err)) from None
        reportdir.write(self._unfinished(document_mod.RUNNING, "the run started at "
                                         f"{document_mod.timestamp(self.started)} and has not "
                                         "finished: it is still running, or it was killed"),
                        self.folder.path)

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionstart(self, session):
        return (yield from self._noting_usage_errors())

    @pytest.hookimpl(wrapper=True)
    def pytest_collection(self, session):
        return (yield from self._noting_usage_errors())

    def _noting_usage_errors(self):
        try:
            return (yield)
        except pytest.UsageError as err:
            self.ended_by = (document_mod.DID_NOT_RUN, f"did not run: {err}")
            raise

    @pytest.hookimpl(tryfirst=True)
    def pytest_keyboard_interrupt(self, excinfo):
        """Ctrl-C, SIGTERM, or pytest.exit (the host cannot run vmiso: its one line). Before
        the terminal shows it, frames without a line number leave its traceback."""
        interrupts.drop_lineless_frames(excinfo.value)
        if excinfo.value.__traceback__ is not None:
            excinfo.traceback = type(excinfo.traceback)(excinfo.value.__traceback__)
        if isinstance(excinfo.value, KeyboardInterrupt):
            how = "SIGTERM" if "signal" in str(excinfo.value) else "Ctrl-C"
            self.ended_by = (document_mod.INTERRUPTED, f"interrupted ({how})")
        else:  # the host could not run vmiso: before any check, the run did not run
            ended = document_mod.INTERRUPTED if self.checks else document_mod.DID_NOT_RUN
            self.ended_by = (ended, str(excinfo.value.msg))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session):
        if self.folder is None:
            return
        if self.document is None:
            self.document = self._document(session)
        if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) \
                and not self.other_failures:
            session.exitstatus = (pytest.ExitCode.OK if document_mod.gate_passed(self.document)
                                  else pytest.ExitCode.TESTS_FAILED)
        if self.refused or "template_refused" in self.context:
            session.exitstatus = EXIT_USAGE  # fix the template, not the host
        name = self.config.getoption("framework")
        if name:
            self.document["framework"] = frameworks.load(name).group(self.document["controls"])
        try:
            self._compare(self.document)
        except reportdir.ReportError as err:
            self._write(self.document, history=False)  # write first, then fail
            raise pytest.UsageError(str(err)) from None
        self._write(self.document)

    def pytest_unconfigure(self, config):
        """Every way a run ends passes here: one that ended before its session finished (bad
        input read at its start) writes its report now."""
        if self.folder is None:
            return
        try:
            if not self.written:
                reason = self.ended_by or (document_mod.DID_NOT_RUN,
                                           "did not run: the run ended before its checks")
                self._write(self._unfinished(*reason), history=False)
        finally:
            self.folder.release()

    def _write(self, document, history=True):
        # a run of several cells: pytest's own checks.xml has none of their checks
        reportdir.write(document, self.folder.path, self.cell_checks,
                        self.config.getoption("history") if history else None)
        self.written = True

    def _document(self, session):
        """This run's document: the checks that concluded, and where the run ended early,
        every selected check it did not reach, not run."""
        if not self.items and not self.checks:
            return self._unfinished(*(self.ended_by or (
                document_mod.DID_NOT_RUN, "did not run: no check matches the selection "
                "(--control, --risk, --severity, -m, -k)")))
        checks, status, message = list(self.checks), document_mod.RAN, ""
        concluded = {c["check"] for c in self.checks}
        unreached = [item for item in self.items if item.nodeid not in concluded]
        if unreached:
            stop = session.shouldstop or session.shouldfail or "its checks did not all run"
            status, message = self.ended_by or (document_mod.INTERRUPTED, f"stopped: {stop}")
            undecided = {cid for item in unreached for cid in item_controls(item)}
            selected = self._selected_controls()
            done = sum(cid not in undecided for cid in selected)  # every check concluded
            message = f"{message}; after {done} of {len(selected)} controls"
            checks += [rows.undecided_check(item.nodeid, item_controls(item),
                                            verdicts.NOT_RUN, message) for item in unreached]
        return self._build(checks, status, message)

    def _unfinished(self, status, message):
        """The document of a run that concluded no check: each selected control not run."""
        checks = [rows.undecided_check("vmiso", [cid], verdicts.NOT_RUN, message)
                  for cid in self._selected_controls()]
        return self._build(checks, status, message)

    def _selected_controls(self):
        """The controls this run covers: its selected checks' (once collected), else the
        catalog's that --control, --risk and --severity admit."""
        if self.items:
            return list(dict.fromkeys(cid for item in self.items
                                      for cid in item_controls(item)))
        try:
            wanted = selection.given(self.config, self.catalog)
        except pytest.UsageError:
            wanted = None
        admitted = selection.admitted(self.catalog, wanted) if wanted else set(self.catalog)
        return [cid for cid in self.catalog if cid in admitted]

    def _build(self, checks, status, message):
        context = dict(self.context, **self._file_facts(self.context))
        inputs = self.config.stash.get(inputs_key, None)
        context.setdefault("template", str(inputs.template_path) if inputs else
                           _given_template(self.config))
        given = self.config.getoption("libvirt_uri")
        context["given_uri"] = given[0] if len(given) == 1 else None  # several: cells say
        return document_mod.build(self.controls(checks, context), context, self.started,
                                  time.time(), self.config.getoption("fail_on"), self.wanted,
                                  status, message)

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
        reportdir.finish(document, inputs.baseline if inputs else None,
                         self.config.getoption("baseline"), self.config.getoption("history"))

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


def _as_host_paths(check, lab_root):
    """The check's evidence and message naming the files a host owner edits: the lab's libvirt
    sees its copies under lab_root at the host's own paths (its mount namespace), so the
    evidence says /etc/libvirt/qemu.conf, not /run/vmiso/<lab>/etc/libvirt/qemu.conf."""
    def host_path(value):
        return mounts.as_host_path(lab_root, value) if isinstance(value, str) else value
    return dict(check, message=host_path(check["message"]),
                evidence=[{k: host_path(v) for k, v in e.items()} for e in check["evidence"]])


def _given_template(config):
    """The first template as given, for the report of a run that did not read its inputs."""
    given = config.getoption("template") or ["hardened"]
    return given[0].partition("=")[0]


def _one_line(excinfo):
    text = str(excinfo.value).strip().splitlines()
    return f"{excinfo.typename}: {text[0] if text else ''}"[:300]


def pytest_configure(config):
    for severity in catalog_mod.SEVERITIES:
        config.addinivalue_line("markers", f"{severity}: checks of controls of this severity")
    for risk, name in catalog_mod.RISK_FACTORS.items():
        config.addinivalue_line("markers", f"risk{risk}: checks of risk factor {risk} ({name})")
    report = ControlReport(config, catalog_mod.load())
    config.pluginmanager.register(report, "vmiso-report")
    if runs_suites(config) and not (config.option.collectonly or config.option.help
                                     or config.option.version):
        report.claim_folder()
