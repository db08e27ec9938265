"""vmiso's command-line options and markers, registered in one place.

    pytest suites --template leaky --accel tcg --report-dir reports
"""

import json
import os
import signal
from pathlib import Path

import pytest

from helpers import CHECKOUT
from helpers.local import interrupts
from helpers.verdict import frameworks
from helpers.verdict.catalog import FAIL_ON, SEVERITIES

OPT_TEMPLATE = "--template"
OPT_IMAGE = "--image"
OPT_IMAGE_USER = "--image-user"
OPT_URI = "--libvirt-uri"
OPT_NETWORK = "--network"
OPT_ALLOWED_TARGET = "--allowed-target"
OPT_MANAGEMENT_TARGET = "--management-target"
OPT_HOST_PROFILE = "--host-profile"
OPT_ACCEL = "--accel"
OPT_POLICY = "--policy"
OPT_REPORT_DIR = "--report-dir"
OPT_PROBE_SEED = "--probe-seed"
OPT_OSV = "--osv"
OPT_CONTROL = "--control"
OPT_WAIVERS = "--waivers"
OPT_RISK = "--risk"
OPT_SEVERITY = "--severity"
OPT_FAIL_ON = "--fail-on"
OPT_BASELINE = "--baseline"
OPT_ALLOW_RAW_QEMU = "--allow-raw-qemu"
OPT_ACCEPT_EXPOSING = "--accept-exposing-template"
OPT_MAX_PARALLEL = "--max-parallel"
OPT_SHARD = "--shard"
OPT_HISTORY = "--history"
OPT_FRAMEWORK = "--framework"
OPT_PREFLIGHT = "--preflight"

# Exit statuses beside pytest's own 0 (every control passed or was waived) and 1 (a control
# failed or drifted at or above --fail-on, or errored).
EXIT_INFRASTRUCTURE = 3  # the suite could not run: the lab, the host, the image or the guest
EXIT_USAGE = 4  # pytest's usage error: a bad option or input file
CELL_ENV = "VMISO_CELL"  # set in the process of one cell of a run of several

MARKERS = (
    "control(*ids): the catalog control(s) this check evidences",
    "inside: the check observes from inside the guest",
    "outside: the check observes from the host (XML, QMP, processes, configuration)",
    "declared: the check reads the template as given, not the running guest (drift compares "
    "the two)",
)


def pytest_addoption(parser):
    group = parser.getgroup("vmiso", "vmiso isolation conformance")
    group.addoption(OPT_TEMPLATE, action="append", default=[], metavar="NAME|PATH|DIR[=IMAGE]",
                    help="template under test: a built-in name (hardened, leaky), a domain XML "
                         "file, or a folder (every *.xml in it); =IMAGE boots that template on "
                         "its own disk image instead of --image. Repeat it to test several "
                         "templates in one run, on every host (default: hardened)")
    group.addoption(OPT_ALLOW_RAW_QEMU, action="store_true",
                    help="boot the template's <qemu:commandline> and <qemu:override> as given: "
                         "the template author's QEMU arguments run as the host's QEMU user "
                         "(default: the throwaway guest boots without them; HV-08 judges them "
                         "either way; the built-in templates keep theirs in the local lab)")
    group.addoption(OPT_ACCEPT_EXPOSING, action="store_true",
                    help="run a template that would open a real host to others (raw QEMU "
                         "arguments, character devices on the network, displays beyond "
                         "loopback) on a --libvirt-uri host: its displays then listen on "
                         "loopback alone (default: refused there; the lab runs it as written)")
    group.addoption(OPT_IMAGE, default=None, metavar="PATH",
                    help="guest disk image: a cloud image (qcow2) with cloud-init, given a "
                         "NoCloud seed (default: the probe guest, built on first use)")
    group.addoption(OPT_IMAGE_USER, default="vmiso", metavar="NAME",
                    help="with --image: the login user the cloud-init seed creates, with "
                         "passwordless sudo (default: vmiso)")
    group.addoption(OPT_URI, action="append", default=[], metavar="URI",
                    help="libvirt URI of a real host, e.g. qemu:///system or "
                         "qemu+ssh://root@kvm1/system; repeat it to test several hosts in one "
                         "run (default: the local lab, a network namespace with its own "
                         "libvirtd)")
    group.addoption(OPT_MAX_PARALLEL, type=int, default=None, metavar="N",
                    help="with several hosts: how many hosts the run drives at once, the rest "
                         "queued (default: 8); on each host, templates run at once as far as "
                         "its cores allow")
    group.addoption(OPT_SHARD, default=None, metavar="K/N",
                    help="run the K-th of N shares of the hosts x templates (a stable split, "
                         "for CI job matrices); `auto` reads GitLab's CI_NODE_INDEX and "
                         "CI_NODE_TOTAL, `auto/N` a Kubernetes Indexed Job's "
                         "JOB_COMPLETION_INDEX; `vmiso merge` joins the shards' reports")
    group.addoption(OPT_HISTORY, default=None, metavar="DIR",
                    help="keep this run's controls.json in DIR by date; the report shows since "
                         "when each control fails and its last runs, and compares with the "
                         "previous run unless --baseline names another")
    group.addoption(OPT_FRAMEWORK, default=None, choices=frameworks.names(),
                    help="also group the controls under this framework's headings in the "
                         "terminal, report.html and controls.json (catalog/frameworks/)")
    group.addoption(OPT_NETWORK, default="default", metavar="NAME",
                    help="libvirt network for guests on a real host (default: default)")
    group.addoption(OPT_ALLOWED_TARGET, action="append", default=[], metavar="ADDR:PORT",
                    help=f"with {OPT_URI}: a TCP service guests on that host must reach (a "
                         f"mirror, a gateway); the sweep that probes the host reaches it too, as "
                         f"its positive twin (repeatable)")
    group.addoption(OPT_MANAGEMENT_TARGET, action="append", default=[], metavar="ADDR[:PORT]",
                    help=f"with {OPT_URI}: an address of the management network (a BMC, the "
                         f"host's management address, a configuration server) guests must not "
                         f"reach, and the host does; without a port, the common management "
                         f"ports are probed (repeatable; NET-02 is not applicable without one)")
    group.addoption(OPT_HOST_PROFILE, default="hardened",
                    choices=("hardened", "leaky", "system"),
                    help="the local lab's libvirt/QEMU configuration: hardened (Debian's "
                         "defaults), leaky (QEMU as root, capabilities kept, no seccomp) or "
                         "system (this machine's own /etc/libvirt, read, never changed); lab "
                         "only (default: hardened)")
    group.addoption(OPT_ACCEL, default="auto", choices=("auto", "kvm", "tcg"),
                    help="accelerator: auto picks KVM only where it really works (default: auto)")
    group.addoption(OPT_POLICY, default=None, metavar="PATH",
                    help="version policy TOML (default: policies/<template>.toml if present, "
                         "else policies/default.toml)")
    group.addoption(OPT_OSV, default=None, metavar="PATH",
                    help="OSV vulnerability feed that judges distribution builds of QEMU, "
                         "libvirt and the kernels: a folder of records, an ecosystem's zip "
                         "(osv.dev's Debian/all.zip) or the global all.zip (default: what make "
                         "osv-update fetched into osv/feeds, else the sample osv/debian-12)")
    group.addoption(OPT_PREFLIGHT, action="store_true",
                    help="judge the host alone, in seconds, with no guest: only the checks that "
                         "need no guest, of the controls the host answers for (its qemu.conf, "
                         "security drivers, cgroups, devices, kernel and packages); the rest "
                         "is left to a full run, and the report says which (`vmiso "
                         "preflight`)")
    group.addoption(OPT_CONTROL, action="append", default=[], metavar="ID[,ID...]",
                    help="run only the checks of these controls (repeatable); -m and -k work "
                         "as usual beside it")
    group.addoption(OPT_RISK, action="append", default=[], metavar="N[,N...]",
                    help="run only the controls of these risk factors 1-7 (repeatable)")
    group.addoption(OPT_SEVERITY, action="append", default=[], metavar="LEVEL[,LEVEL...]",
                    help=f"run only the controls of these severities: {', '.join(SEVERITIES)} "
                         f"(repeatable)")
    group.addoption(OPT_FAIL_ON, default="any",
                    choices=FAIL_ON,
                    help="the lowest severity whose failed or drifted control fails the run; an "
                         "error fails it whatever the severity (default: any)")
    group.addoption(OPT_BASELINE, default=None, metavar="PATH",
                    help="an earlier run's controls.json: report what regressed, was fixed, is "
                         "new or gone, by host and control")
    group.addoption(OPT_WAIVERS, default=None, metavar="PATH",
                    help="YAML list of waivers (control, reason, owner, expires): a waived "
                         "failure does not fail the run until its expiry date")
    group.addoption(OPT_PROBE_SEED, type=int, default=None, metavar="N",
                    help="seed of the ports hypothesis draws for the network probes; the report "
                         "gives each run's (default: a new one per run)")
    group.addoption(OPT_REPORT_DIR, default="reports", metavar="DIR",
                    help="where controls.json, report.html, junit.xml (a case per control) and "
                         "checks.xml (a case per check) go; with several cells, each cell's "
                         "own reports and output go to cells/ in it (default: reports)")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    adopt_cell(config)
    # SIGTERM (a CI timeout, kill) unwinds like Ctrl-C, so fixtures tear guests and the lab down.
    signal.signal(signal.SIGTERM, _interrupt)
    if getattr(config.option, "xmlpath", None) is None and not config.option.collectonly \
            and runs_suites(config):
        config.option.xmlpath = str(Path(config.getoption("report_dir")) / "checks.xml")


def runs_suites(config):
    """Whether this pytest runs vmiso's suites (vmiso's own self-tests load these plugins too,
    and write no report)."""
    suites = CHECKOUT / "suites"
    for arg in config.args:
        path = (config.invocation_params.dir / arg.split("::")[0]).resolve()
        if path == suites or suites in path.parents:
            return True
    return False


def adopt_cell(config):
    """In a cell's process (helpers/plugin/cells.py started it): its one template, image and
    host, its report folder and the run's probe seed, in place of the run's options."""
    given = os.environ.get(CELL_ENV)
    if not given:
        return
    cell = json.loads(given)
    config.option.template = [cell["template"]]
    config.option.image = cell["image"]
    config.option.libvirt_uri = [cell["uri"]] if cell["uri"] else []
    config.option.report_dir = cell["report_dir"]
    config.option.probe_seed = cell["probe_seed"]
    config.option.xmlpath = str(Path(cell["report_dir"]) / "checks.xml")
    config.option.shard = config.option.history = config.option.baseline = None


class HostFailure(Exception):
    """One cell of a run of several could not be tested: every check that needs its host or
    guest errors with this line, and the other cells go on."""


def infrastructure_failure(message, returncode=EXIT_INFRASTRUCTURE):
    """End the run: the suite could not run (EXIT_INFRASTRUCTURE; EXIT_USAGE where the input is
    at fault), one line saying why. In a cell of a run of several, only this cell fails
    (HostFailure), and its report says so."""
    if os.environ.get(CELL_ENV):
        raise HostFailure(f"vmiso: {message}") from None
    pytest.exit(f"vmiso: {message}", returncode=returncode)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item, nextitem):
    """The last check's teardown tears the session's guests, canaries and lab down: a Ctrl-C
    meanwhile waits until all of them are gone (pytest skips the finalizers after one that
    raises it)."""
    if nextitem is not None:
        return (yield)
    with interrupts.held():
        return (yield)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionfinish(session):
    """An interrupted run tears down here: a second Ctrl-C meanwhile is held (the run ends
    anyway)."""
    with interrupts.held(reraise=False):
        return (yield)


def per_control(ids):
    """Parameters for a check that runs once per control, each case marked with its control."""
    return [pytest.param(cid, marks=pytest.mark.control(cid), id=cid) for cid in ids]


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")
