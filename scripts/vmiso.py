"""The `vmiso` command: every job of vmiso, each with the exit statuses below.

    vmiso conformance --template leaky --report-dir reports     # the suites, in the local lab
    vmiso conformance --libvirt-uri qemu+ssh://root@kvm1/system
    vmiso check-templates templates/ --report-dir reports/static
    vmiso merge shard-1 shard-2 --report-dir reports

`make venv` (or `make unit`, for the jobs without a lab) installs it as .venv/bin/vmiso; the
make targets call the same jobs. Each job's own options: `vmiso JOB --help`.
"""

import contextlib
import io
import os
import sys
import time
from pathlib import Path

from helpers import CHECKOUT

EXIT_PASSED, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_HOST, EXIT_USAGE = 0, 1, 2, 3, 4
PYTEST_NO_TESTS = 5
SUITES = (str(CHECKOUT / "suites"), "--rootdir", str(CHECKOUT), "-c", str(CHECKOUT / "pytest.ini"))
EXIT_STATUSES = f"""exit statuses (every job):
  {EXIT_PASSED}  the gate passed: every control passed, was mitigated or waived (or not applicable)
  {EXIT_FAILED}  the gate failed: a control failed or drifted at or above --fail-on, errored, or
     did not run
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C, SIGTERM): the report says after how many controls
  {EXIT_HOST}  the host cannot run vmiso (libvirt, the lab, permissions, the image, the guest)
  {EXIT_USAGE}  bad input: an option, a template, a policy, waiver or history file, or a report
     folder another run holds
Every job but a refused report folder leaves a report that says which of these it was."""

JOBS = {
    "conformance": "test templates on hosts: guests booted, isolation proved (the suites)",
    "preflight": "judge a host alone in seconds, no guest booted: its settings, devices, "
                 "kernel and packages",
    "check-templates": "judge templates from their files alone: no lab, no guest, no root",
    "merge": "merge the report folders of a sharded run into one report",
    "sweep": "remove what dead runs left on a host",
    "prune": "prune a host's image cache",
    "nwfilter": "define the hardened template's traffic filter on a host",
    "osv-update": "fetch the hosts' OSV vulnerability feeds",
}
SCRIPTS = {"check-templates": "check_templates", "merge": "merge", "sweep": "sweep",
           "prune": "prune", "nwfilter": "nwfilter", "osv-update": "osv_update"}

USAGE = f"""usage: vmiso JOB [OPTIONS]

vmiso proves a libvirt/QEMU host and its guest templates keep guests isolated.

jobs:
{chr(10).join(f'  {name:<16} {what}' for name, what in JOBS.items())}

examples:
  vmiso conformance                                 # the hardened template in the local lab
  vmiso conformance --template leaky                # a template that leaks: exit 1
  vmiso conformance --template my.xml --libvirt-uri qemu+ssh://root@kvm1/system
  vmiso conformance --host-profile system --fail-on high   # gate this machine's own libvirt
  vmiso preflight                                   # this machine's host settings, no guest
  vmiso preflight --libvirt-uri qemu+ssh://root@kvm1/system --report-dir reports/preflight
  vmiso check-templates templates/ --report-dir reports/static   # SARIF for code scanning
  vmiso conformance --shard auto --report-dir shard && vmiso merge shard-* --report-dir all

{EXIT_STATUSES}

`vmiso JOB --help` lists a job's options (vmiso conformance: vmiso's options first)."""


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return EXIT_PASSED if argv else EXIT_USAGE
    job, rest = argv[0], argv[1:]
    if job == "conformance":
        return conformance(rest)
    if job == "preflight":
        return conformance(preflight_args(rest), job="preflight")
    if job not in SCRIPTS:
        print(f"vmiso: no job {job!r}; the jobs are {', '.join(JOBS)} (vmiso --help)",
              file=sys.stderr)
        return EXIT_USAGE
    module = __import__(f"scripts.{SCRIPTS[job]}", fromlist=["main"])
    try:
        return module.main(rest, prog=f"vmiso {job}")
    except SystemExit as ended:  # argparse: --help (0), a bad option (2: bad input here)
        return EXIT_USAGE if ended.code == 2 else ended.code


PREFLIGHT_HELP = """vmiso preflight judges a host without booting a guest, in seconds: the checks
of the controls the host answers for that need no guest (the qemu.conf settings and security
drivers libvirt starts QEMU under, cgroup controllers, /dev/kvm and the vhost devices, IOMMU,
KSM, SMT, nested KVM, CPU vulnerabilities, libvirtd.conf, virtlogd.conf, and versions and
packages against the policy and the OSV feed). It takes vmiso conformance's options; locally it
judges this machine's own /etc/libvirt (--host-profile system). The report names the controls
it leaves to a full run. It is vmiso conformance --preflight."""


def preflight_args(args):
    """A preflight is a run of the checks that need no guest (--preflight); locally it judges
    this machine's own libvirt configuration (--host-profile system) unless told otherwise."""
    local = given(args, "--libvirt-uri") is None and given(args, "--host-profile") is None
    help_asked = "-h" in args or "--help" in args
    return [*args, *(["--host-profile", "system"] if local and not help_asked else []),
            *([] if help_asked else ["--preflight"])]


def pytest_args(args):
    """The suites' pytest command line: vmiso's checkout whatever the working directory, one
    line per failure (the report's table has the evidence), no pytest failure block."""
    return [*SUITES, "--tb=no", "-qq", "-rN", *args]


def conformance(args, job="conformance"):
    import pytest

    # The suites load no plugin of another package: without autoloading, pytest does not
    # rewrite the asserts of every hypothesis module at each start.
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    if "-h" in args or "--help" in args:
        return conformance_help(pytest, job)
    started = time.time()
    said = Said(sys.stderr)
    with contextlib.redirect_stderr(said):
        status = int(pytest.main(pytest_args(args)))
    if status == PYTEST_NO_TESTS:
        print("vmiso: no check matches the selection (--control, --risk, --severity, -m, -k); "
              "widen it", file=sys.stderr)
        status = EXIT_USAGE
    if status != EXIT_PASSED:
        report_anyway(args, said.last_error() or f"pytest ended with status {status}", started)
    return status


class Said(io.TextIOBase):
    """stderr as it is, remembering its last error line (pytest's one line for an option it
    refused before vmiso's plugins ran)."""

    def __init__(self, stream):
        self.stream = stream
        self.error_lines = []

    def write(self, text):
        self.error_lines += [line for line in text.splitlines() if "error:" in line.lower()]
        return self.stream.write(text)

    def flush(self):
        self.stream.flush()

    def last_error(self):
        if not self.error_lines:
            return None
        return self.error_lines[-1].strip().removeprefix("pytest.main(): error: ")


def report_anyway(args, line, started):
    """Where pytest ended before vmiso's report plugin wrote a report (an option it refused),
    the report folder still gets one: every control not run, and why."""
    from helpers.output import reportdir
    from helpers.verdict import catalog

    report_dir = Path(given(args, "--report-dir") or "reports")
    try:
        written = (report_dir / "controls.json").stat().st_mtime >= started
    except OSError:
        written = False
    if not written:
        reportdir.write_did_not_run(report_dir, catalog.load(), f"did not run: {line}", started,
                                    given(args, "--template"))


def given(args, option):
    """The first value of `option` in `args` ("--opt VALUE" or "--opt=VALUE"), or None."""
    for i, arg in enumerate(args):
        if arg == option and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(option + "="):
            return arg.partition("=")[2]
    return None


def conformance_help(pytest, job="conformance"):
    """pytest's help with vmiso's own options first, then the exit statuses, then pytest's."""
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        pytest.main([*SUITES, "--help"])
    text = captured.getvalue()
    start = text.find("vmiso isolation conformance:")
    end = text.find("\n\n", start)
    ours = text[start:end] if start >= 0 else ""
    print(f"usage: vmiso {job} [OPTIONS] [pytest options]\n")
    if job == "preflight":
        print(PREFLIGHT_HELP + "\n")
    print(ours + "\n")
    print(EXIT_STATUSES + "\n")
    print("pytest's own options (-k, -m, -x, ...) are accepted too:\n")
    print(text[:start] + text[end:] if start >= 0 else text)
    return EXIT_PASSED


if __name__ == "__main__":
    sys.exit(main())
