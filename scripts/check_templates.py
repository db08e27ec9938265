#!/usr/bin/env python3
"""Judge templates from their files alone (the static run): no lab, no guest, no libvirt, no
root; what a template repository's CI runs on every change.

    vmiso check-templates vms/ xen/web.cfg --report-dir reports/static --source-root .
    make check-templates TEMPLATES='templates/hardened.xml xen/web.cfg'

A TEMPLATE is a built-in name (hardened, leaky), a domain XML or xl.cfg file, or a folder: its
*.xml and *.cfg files (not its subfolders'), as `vmiso conformance --template DIR` takes a folder's
*.xml files; two templates of one file name are refused, as there. Each template gets the report
files of a full run (controls.json, report.html, junit.xml) in REPORT_DIR/<template name>/, with
the verdicts of the full run's template checks and every other control not applicable ("static
run"); all of them share one SARIF 2.1.0 file, REPORT_DIR/vmiso.sarif, whose results point at
the offending element's line.

The SARIF names each template by its path under the source root (--source-root; by default the
git top level of the first template's folder, else the working directory) with uriBaseId
SRCROOT, the root's file:// URI in run.originalUriBaseIds; a template outside the root is
refused. GitHub code scanning reads such a path from the repository's root (and ignores
originalUriBaseIds), so the source root must be the repository's top level, the folder it is
checked out in. docs/ci/ holds a GitHub Actions workflow and a GitLab CI job that run it.

Exit status: 0 when no template fails the gate, 1 when one does, 4 when a template or option is
unusable (one line on stderr, "vmiso check-templates: ...").
"""

import argparse
import os
import sys
import time
from pathlib import Path

from helpers.local import command
from helpers.output import document, reportdir, sarif
from helpers.policy import policyfile
from helpers.template import templatefile
from helpers.template.domxml import TemplateError
from helpers.verdict import catalog as catalog_mod
from helpers.verdict import staticrun

EXIT_FAILED, EXIT_USAGE = 1, 4
GIT_TIMEOUT_S = 10
GIVE = "give the path of a domain XML or xl.cfg file, or of a folder of them"


class UsageError(Exception):
    """Bad input: one line for stderr."""


class NoGitRoot(Exception):
    """git is missing, the folder is in no repository, or git did not answer in time."""


def default_source_root(folder):
    """(the git top level of `folder`, else the working directory; which of them, in words)."""
    try:
        out = command.run("git", "rev-parse", "--show-toplevel", cwd=folder, error=NoGitRoot,
                          purpose="the source root", timeout=GIT_TIMEOUT_S).stdout.strip()
    except (NoGitRoot, OSError):
        out = ""
    if not out:
        return Path.cwd(), f"the working directory, as git names no top level for {folder}"
    return Path(out), f"the git top level of {folder}"


def source_root(given, paths):
    """The folder the SARIF's paths are relative to: --source-root, or the default; UsageError
    when it is not a folder or a template lies outside it."""
    if given is None:
        root, how = default_source_root(paths[0].parent)
    else:
        root, how = Path(given), f"--source-root {given}"
    if not root.is_dir():
        raise UsageError(f"--source-root {given}: not a folder; give the repository's top level "
                         f"(the folder it is checked out in)")
    for path in paths:
        try:
            sarif.relative_uri(path, root)
        except sarif.OutsideSourceRoot as err:
            raise UsageError(f"{err} ({how}); give --source-root the folder that holds every "
                             f"template (the repository's top level), or check each "
                             f"repository's templates in a run of their own") from None
    return Path(os.path.abspath(root))


def judge_one(path, policy_file, catalog, fail_on, folder):
    started = time.time()
    template = templatefile.read(path)
    allowed = policyfile.read(policy_file).allowed_devices
    rows, located = staticrun.judge(template, catalog, allowed)
    context = {"mode": "static", "template": str(path), "template_dialect": template.dialect,
               "template_file": document.file_facts(path), "policy": str(policy_file)}
    built = document.build(rows, context, started, time.time(), fail_on)
    reportdir.write(built, folder)
    return built, located


def main(argv=None, prog="vmiso check-templates"):
    parser = argparse.ArgumentParser(prog=prog,
                                     description=(__doc__ or "").partition("\n\n")[0])
    parser.add_argument("templates", nargs="+", metavar="TEMPLATE",
                        help="domain XML or xl.cfg files, folders of them (their *.xml and "
                             "*.cfg), or hardened, leaky")
    parser.add_argument("--report-dir", default="reports/static", type=Path)
    parser.add_argument("--policy", help="policy file (HV-09's [devices] allowlist)")
    parser.add_argument("--fail-on", default="any", choices=catalog_mod.FAIL_ON)
    parser.add_argument("--source-root", metavar="DIR",
                        help="the SARIF's paths are relative to it: the repository's top level "
                             "(default: the git top level of the first template's folder, else "
                             "the working directory)")
    args = parser.parse_args(argv)
    try:
        paths = templatefile.expand(args.templates, templatefile.XML_OR_XL_CFG)
        missing = [p for p in paths if not p.exists()]
        if missing:
            raise UsageError(f"{templatefile.unreadable(missing[0], FileNotFoundError())}; {GIVE}")
        root = source_root(args.source_root, paths)
    except (templatefile.TemplateArgumentError, UsageError) as err:
        return usage(prog, str(err))
    catalog = catalog_mod.load()
    findings, failed = [], []
    for path in paths:
        try:
            policy_file = policyfile.for_template(path, args.policy)
            built, located = judge_one(path, policy_file, catalog, args.fail_on,
                                       args.report_dir / path.stem)
        except OSError as err:
            return usage(prog, f"{templatefile.unreadable(path, err)}; {GIVE}")
        except TemplateError as err:
            return usage(prog, f"template {path}: {err}")
        except policyfile.PolicyError as err:
            return usage(prog, str(err))
        findings += located
        blocking = built["gate"]["blocking"]
        print(f"{path}: {'FAIL ' + ', '.join(blocking) if blocking else 'pass'} "
              f"({built['summary']['by_status'].get('fail', 0)} failing controls)")
        failed += [path] if blocking else []
    log = sarif.build([str(p) for p in paths], findings, catalog, document.suite_version(),
                      source_root=root)
    sarif.write(log, args.report_dir / "vmiso.sarif")
    print(f"reports: {args.report_dir}/<template>/, SARIF: {args.report_dir / 'vmiso.sarif'} "
          f"(paths relative to {root})")
    return EXIT_FAILED if failed else 0


def usage(prog, message):
    print(f"{prog}: {message}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
