"""The per-control table printed at the end of a run (helpers/output/terminal.py): the exact
lines, their colours and section rules, for a document of one cell and one of several, and the
report plugin writing them with pytest's terminal reporter."""

from pathlib import Path

import pytest

from helpers.output import terminal
from helpers.plugin.report import ControlReport

REPORT_DIR = Path("reports")
HOST = {"name": "hv1", "uri": "qemu:///system", "distribution": "debian 12", "kernel": "6.1.0",
        "qemu": "7.2.19", "libvirt": "9.0.0", "accelerator": None}
WARNING = ("the OSV feed is 375 days old (newest record 2025-11-20; the policy allows 7): "
           "refresh it with vmiso osv-update")
WAIVER = {"control": "ESC-04", "reason": "AppArmor lands in Q2", "owner": "platform-team",
          "expires": "2027-03-31", "active": True}


def seen(what, observed, expected, ok, vantage="inside"):
    return {"check": f"suites/x.py::{what}", "vantage": vantage, "what": what,
            "observed": observed, "expected": expected, "ok": ok}


def check(verdict, vantage="inside", message=""):
    return {"check": "suites/x.py::t", "vantage": vantage, "declared": False, "verdict": verdict,
            "message": message, "duration_s": 0.5}


def row(cid, status, severity, title, evidence, checks, **extra):
    return dict({"id": cid, "title": title, "risk": 1, "severity": severity, "status": status,
                 "references": [], "remediation": "fix it", "duration_s": 1.0,
                 "evidence": evidence, "checks": checks, "host": "hv1", "template": "hardened",
                 "risk_factor": "hypervisor attack surface", "owner": "host"}, **extra)


CONTROLS = [
    row("HV-01", "pass", "critical", "No floppy controller (VENOM)",
        [seen("floppy in domain XML", "none", "none", True, "outside"),
         seen("floppy in /proc/devices", "none", "none", True),
         seen("fd0 in /sys/block", "absent", "absent", True)],
        [check("pass", "outside"), check("pass")]),
    row("HV-03", "mitigated", "medium", "No sound device", [],
        [check("mitigated")]),
    row("ESC-01", "fail", "critical", "QEMU runs as an unprivileged user",
        [seen("qemu uid", "0", "not 0", False, "outside"), seen("qemu gid", "0", "not 0", False)],
        [check("fail", "outside")]),
    row("ESC-02", "drift", "high", "QEMU has no effective capabilities",
        [seen("CapEff", "0000000000000000", "0000000000000000", True, "outside")],
        [check("pass", "outside"), check("fail", "outside")]),
    row("ESC-04", "waived", "high", "Mandatory access control label per VM",
        [seen("seclabel", "none", "apparmor or selinux", False, "outside")],
        [check("fail", "outside")], waiver=WAIVER),
    row("ESC-03", "fail", "high", "QEMU runs in a seccomp sandbox",
        [seen("Seccomp", "0", "2", False, "outside")],
        [check("fail", "outside")], waiver=dict(WAIVER, control="ESC-03", active=False)),
    row("DEV-03", "error", "medium", "Disk format explicit", [],
        [check("error", "outside", "TimeoutError: virsh dumpxml took over 30 s")]),
    row("DEV-04", "not_applicable", "high", "Least privilege on KVM and libvirt",
        [seen("/dev/kvm", "absent", "absent", True)],
        [check("not_applicable", "inside", "no /dev/kvm on this host (TCG)")]),
    row("NET-06", "pass", "high", "No user-mode (slirp) networking", [],
        [check("pass", "outside")]),
]
FRAMEWORK = {
    "name": "bsi-sys-1-5", "title": "BSI IT-Grundschutz SYS.1.5 Virtualisierung",
    "source": "the Kompendium",
    "headings": [
        {"id": "SYS.1.5.A2", "title": "Sicherer Einsatz virtueller IT-Systeme", "status": "fail",
         "controls": {"ESC-01": "fail", "ESC-02": "drift", "ESC-04": "waived"}, "not_run": []},
        {"id": "SYS.1.5.A3", "title": "Sichere Konfiguration virtueller IT-Systeme",
         "status": "pass", "controls": {"HV-01": "pass", "HV-03": "mitigated"},
         "not_run": ["HV-02"]},
        {"id": "SYS.1.5.A13", "title": "Auswahl geeigneter Hardware", "status": "not_run",
         "controls": {}, "not_run": ["DEV-06", "DEV-08"]},
    ],
    "unmapped": ["NET-06"],
}


def change(cid, title, was, now):
    return {"host": "hv1", "template": "hardened", "control": cid, "title": title,
            "severity": "high", "was": was, "now": now}


BASELINE = {
    "path": "/nightly/controls.json", "started": "2026-11-26T03:33:39.524Z",
    "regressed": [change("ESC-01", "QEMU runs as an unprivileged user", "pass", "fail")],
    "fixed": [change("HV-01", "No floppy controller (VENOM)", "fail", "pass")],
    "new": [change("NET-06", "No user-mode (slirp) networking", None, "pass")],
    "gone": [change("MGT-04", "Other host management services unreachable", "pass", None)],
    "changed": [],
}
RUN = {"template": "/work/templates/hardened.xml", "accelerator": "tcg",
       "adaptations": ["domain type 'kvm' -> 'qemu' (KVM unusable: TCG)"], "probe_seed": 7,
       "osv": {"feed": "osv/feeds", "records": 15, "date": "2025-11-20", "warning": WARNING}}
ONE_CELL = {
    "run": RUN, "hosts": [HOST],
    "cells": [{"host": "hv1", "template": "hardened", "status": "ran", "message": "", "run": RUN}],
    "controls": CONTROLS, "framework": FRAMEWORK, "baseline": BASELINE,
    "gate": {"fail_on": "high", "blocking": ["ESC-01", "ESC-02", "DEV-03"]},
}
SEVERAL = {
    "run": {"cells": 3}, "hosts": [HOST, dict(HOST, name="hv2", accelerator="kvm")],
    "cells": [
        {"host": "hv1", "template": "hardened", "status": "ran", "message": "", "run": RUN},
        {"host": "hv2", "template": "hardened", "status": "ran", "message": "",
         "run": dict(RUN, osv={"feed": "osv/feeds", "warning": "another feed is old"})},
        {"host": "hv2", "template": "leaky", "status": "refused",
         "message": "libvirt refused <watchdog>: change or remove it"},
    ],
    "controls": [CONTROLS[0], CONTROLS[7], dict(CONTROLS[0], host="hv2"),
                 dict(CONTROLS[1], host="hv2"), dict(CONTROLS[7], host="hv2")],
    "gate": {"fail_on": "any", "blocking": []},
}

RED = ("red", "bold")
WARN = ("yellow", "bold")


def line(text, *markup):
    return (text, markup, None)


def rule(title, sep="="):
    return (title, (), sep)


EXPECTED_ONE_CELL = [
    rule('vmiso controls'),
    line('ESC-01  FAIL      critical QEMU runs as an unprivileged user', *RED),
    line('        owner: host'),
    line('        evidence: [outside] qemu uid: 0 (expected not 0)'),
    line('        fix: fix it'),
    line('ESC-03  FAIL      high     QEMU runs in a seccomp sandbox', *RED),
    line('        owner: host'),
    line('        evidence: WAIVER EXPIRED on 2027-03-31 by platform-team: AppArmor lands in '
         'Q2; [outside] Seccomp: 0 (expected 2)'),
    line('        fix: fix it'),
    line('ESC-02  DRIFT     high     QEMU has no effective capabilities', *RED),
    line('        owner: host'),
    line('        evidence: 2 checks (outside); [outside] CapEff: 0000000000000000'),
    line('        fix: fix it'),
    line('DEV-03  ERROR     medium   Disk format explicit', *RED),
    line('        stopped: TimeoutError: virsh dumpxml took over 30 s'),
    line('        fix: fix what stopped the check (the line above), then run it again'),
    line('WAIVED (1): ESC-04', 'yellow'),
    line('        ESC-04: waived until 2027-03-31 by platform-team: AppArmor lands in Q2; '
         '[outside] seclabel: none (expected apparmor or selinux)'),
    line('MITIGATED (1): HV-03', 'green'),
    line('PASS (2): HV-01, NET-06', 'green'),
    line('NOT APPLICABLE (1): DEV-04', 'yellow'),
    rule('run', '-'),
    line('template: /work/templates/hardened.xml'),
    line('accelerator: tcg'),
    line('adaptations: ["domain type \'kvm\' -> \'qemu\' (KVM unusable: TCG)"]'),
    line('probe_seed: 7'),
    line("osv: {'feed': 'osv/feeds', 'records': 15, 'date': '2025-11-20', 'warning': 'the OSV "
         'feed is 375 days old (newest record 2025-11-20; the policy allows 7): refresh it '
         "with vmiso osv-update'}"),
    line('warning: the OSV feed is 375 days old (newest record 2025-11-20; the policy allows '
         '7): refresh it with vmiso osv-update', *WARN),
    line('host: name hv1, uri qemu:///system, distribution debian 12, kernel 6.1.0, qemu '
         '7.2.19, libvirt 9.0.0'),
    line('framework bsi-sys-1-5: BSI IT-Grundschutz SYS.1.5 Virtualisierung'),
    line('SYS.1.5.A2   FAIL      Sicherer Einsatz virtueller IT-Systeme: ESC-01 fail, ESC-02 '
         'drift, ESC-04 waived', *RED),
    line('             failing: ESC-01, ESC-02'),
    line('SYS.1.5.A3   PASS      Sichere Konfiguration virtueller IT-Systeme: HV-01 pass, '
         'HV-03 mitigated'),
    line('SYS.1.5.A13  NOT_RUN   Auswahl geeigneter Hardware: none of its controls ran'),
    line('under no heading of bsi-sys-1-5: NET-06'),
    rule('vmiso since 2026-11-26T03:33:39.524Z (/nightly/controls.json)', '-'),
    line('regressed: 1', *RED),
    line('    ESC-01  pass -> fail  QEMU runs as an unprivileged user (hardened on hv1)'),
    line('fixed: 1'),
    line('    HV-01   fail -> pass  No floppy controller (VENOM) (hardened on hv1)'),
    line('new: 1'),
    line('    NET-06  - -> pass  No user-mode (slirp) networking (hardened on hv1)'),
    line('gone: 1'),
    line('    MGT-04  pass -> -  Other host management services unreachable (hardened on hv1)'),
    line('changed: none'),
    line('gate (--fail-on high): FAILED by ESC-01, ESC-02, DEV-03', *RED),
    line('not checked on this run (not applicable, the gate does not count them): DEV-04',
         'yellow'),
    line('report: reports/report.html (also controls.json, junit.xml there)'),
    line('vmiso: gate FAILED (fail on high): 4 of 9 controls fail or were not decided, 3 '
         'block', *RED),
]
EXPECTED_SEVERAL = [
    rule('vmiso controls'),
    line('leaky on hv2: libvirt refused <watchdog>: change or remove it', *RED),
    line('MITIGATED (1): HV-03', 'green'),
    line('PASS (2): HV-01 (2 cells)', 'green'),
    line('NOT APPLICABLE (2): DEV-04 (2 cells)', 'yellow'),
    rule('run', '-'),
    line('cells: 3'),
    line('warning: the OSV feed is 375 days old (newest record 2025-11-20; the policy allows '
         '7): refresh it with vmiso osv-update', *WARN),
    line('warning: another feed is old', *WARN),
    line('host: name hv1, uri qemu:///system, distribution debian 12, kernel 6.1.0, qemu '
         '7.2.19, libvirt 9.0.0'),
    line('host: name hv2, uri qemu:///system, distribution debian 12, kernel 6.1.0, qemu '
         '7.2.19, libvirt 9.0.0, accelerator kvm'),
    line('gate (--fail-on any): passed', 'green'),
    line('not checked on this run (not applicable, the gate does not count them): DEV-04',
         'yellow'),
    line('report: reports/report.html (also controls.json, junit.xml there)'),
    line('vmiso: gate passed (fail on any): 0 of 5 controls over 3 cells fail', 'green'),
]


class Reporter:
    """pytest's terminal reporter as far as the plugin uses it: each call kept as (text, markup
    names in the order given, the rule of a section heading or None)."""

    def __init__(self):
        self.lines = []

    def section(self, title, sep="="):
        self.lines.append((title, (), sep))

    def write_line(self, line, **markup):
        self.lines.append((line, tuple(name for name, on in markup.items() if on), None))


class Config:
    def getoption(self, name):
        return {"report_dir": str(REPORT_DIR)}[name]


def written(document):
    """What the report plugin writes to the terminal for `document`."""
    plugin = ControlReport(Config(), {})
    plugin.document = document
    reporter = Reporter()
    plugin.pytest_terminal_summary(reporter)
    return reporter.lines


@pytest.mark.parametrize("document, expected", [(ONE_CELL, EXPECTED_ONE_CELL),
                                                 (SEVERAL, EXPECTED_SEVERAL)])
def test_the_table_of_a_document(document, expected):
    assert terminal.lines(document, REPORT_DIR) == expected


@pytest.mark.parametrize("document, expected", [(ONE_CELL, EXPECTED_ONE_CELL),
                                                 (SEVERAL, EXPECTED_SEVERAL)])
def test_the_plugin_writes_the_table_with_the_terminal_reporter(document, expected):
    assert written(document) == expected


def test_the_plugin_writes_nothing_before_a_document():
    plugin = ControlReport(Config(), {})
    reporter = Reporter()
    plugin.pytest_terminal_summary(reporter)
    assert reporter.lines == []
