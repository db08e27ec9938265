#!/usr/bin/env python3
"""Judge templates from their files alone (the static run): no lab, no guest, no libvirt, no
root; what a template repository's CI runs on every change.

    .venv/bin/python -m scripts.check_templates templates/*.xml xen/web.cfg --report-dir reports
    make check-templates TEMPLATES='templates/hardened.xml xen/web.cfg'

Each template gets the report files of a full run (controls.json, report.html, junit.xml) in
REPORT_DIR/<template name>/, with the verdicts of the full run's template checks and every other
control not applicable ("static run"); all of them share one SARIF 2.1.0 file,
REPORT_DIR/vmiso.sarif, whose results point at the offending element's line. Exit status: 0 when
no template fails the gate, 1 when one does, 4 when a template or option is unusable.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from helpers.output import document, html, junit, sarif
from helpers.policy import policyfile
from helpers.template.domxml import TemplateError
from helpers.template.templatefile import locate, read, unreadable
from helpers.verdict import catalog as catalog_mod
from helpers.verdict import staticrun

EXIT_FAILED, EXIT_USAGE = 1, 4


def report_names(paths):
    """A folder name per template: its file name, numbered where two share one."""
    names, seen = [], {}
    for path in paths:
        seen[path.stem] = seen.get(path.stem, 0) + 1
        names.append(path.stem if seen[path.stem] == 1 else f"{path.stem}-{seen[path.stem]}")
    return names


def judge_one(path, policy_file, catalog, fail_on, folder):
    started = time.time()
    template = read(path)
    allowed = policyfile.read(policy_file).allowed_devices
    rows, located = staticrun.judge(template, catalog, allowed)
    context = {"mode": "static", "template": str(path), "template_dialect": template.dialect,
               "template_file": document.file_facts(path), "policy": str(policy_file)}
    built = document.build(rows, context, started, time.time(), fail_on)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "controls.json").write_text(json.dumps(built, indent=2) + "\n")
    html.write(built, folder / "report.html")
    junit.write(built, folder / "junit.xml")
    return built, located


def main(argv=None, prog="vmiso check-templates"):
    parser = argparse.ArgumentParser(prog=prog,
                                     description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("templates", nargs="+", metavar="TEMPLATE",
                        help="domain XML or xl.cfg files (or hardened, leaky)")
    parser.add_argument("--report-dir", default="reports/static", type=Path)
    parser.add_argument("--policy", help="policy file (HV-09's [devices] allowlist)")
    parser.add_argument("--fail-on", default="any", choices=catalog_mod.FAIL_ON)
    args = parser.parse_args(argv)
    catalog = catalog_mod.load()
    paths = [locate(t) for t in args.templates]
    findings, failed = [], []
    for path, name in zip(paths, report_names(paths)):
        try:
            policy_file = policyfile.for_template(path, args.policy)
            built, located = judge_one(path, policy_file, catalog, args.fail_on,
                                       args.report_dir / name)
        except OSError as err:
            return usage(f"{unreadable(path, err)}; give the path of a domain XML "
                         f"or xl.cfg file")
        except TemplateError as err:
            return usage(f"template {path}: {err}")
        except policyfile.PolicyError as err:
            return usage(str(err))
        findings += located
        blocking = built["gate"]["blocking"]
        print(f"{path}: {'FAIL ' + ', '.join(blocking) if blocking else 'pass'} "
              f"({built['summary']['by_status'].get('fail', 0)} failing controls)")
        failed += [path] if blocking else []
    log = sarif.build([str(p) for p in paths], findings, catalog, document.suite_version())
    sarif.write(log, args.report_dir / "vmiso.sarif")
    print(f"reports: {args.report_dir}/<template>/, SARIF: {args.report_dir / 'vmiso.sarif'}")
    return EXIT_FAILED if failed else 0


def usage(message):
    print(f"make check-templates: {message}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
