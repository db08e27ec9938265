"""A run's lease on a real host: a file the run touches every RENEW_S while it lives, so that a
later run, from any controller (another machine, another PID namespace), tells a dead run's
leftovers from a live run's by the host's own clock.

    lease = RunLease.take(hypervisor, "1a2b3c")   # /var/tmp/vmiso/runs/1a2b3c, renewed in a thread
    held(hypervisor)                              # {'1a2b3c', ...}: the live runs' ids
    lease.release()                               # at the run's end, after its guests went

A run that was killed, lost its link or whose machine went down renews nothing: LEASE_S after
its last renewal, its guests and folders are anyone's to sweep (helpers/vm/runmark.py); its own
controller (same boot and PID namespace, the lease holds the run's mark) sweeps them at once. A lease
is taken before the run makes anything on the host, so a run's leftovers without a lease file are
a dead run's.
"""

import stat
import threading
from pathlib import PurePosixPath

from helpers.host.clock import clock
from helpers.host.errors import HypervisorError
from helpers.host.hostfolder import PASS_THROUGH, is_own_folder, own_folder
from helpers.vm.runmark import RunMark

ROOT = PurePosixPath("/var/tmp/vmiso/runs")
LEASE_S = 600
RENEW_S = 60


class RunLease:
    def __init__(self, hypervisor, path):
        self.hypervisor = hypervisor
        self.path = path
        self._stop = threading.Event()
        self._renewer = threading.Thread(target=self._renew, name="vmiso-lease", daemon=True)
        self._renewer.start()

    @classmethod
    def take(cls, hypervisor, run_id):
        """The run's lease, made now (ROOT's parents are checked as the run's own already); it
        holds the run's mark, so that its own controller sweeps it at once once the run died."""
        own_folder(hypervisor, ROOT, PASS_THROUGH)
        path = ROOT / run_id
        hypervisor.write_bytes(path, RunMark.current(run_id).to_text().encode(), mode=0o600)
        return cls(hypervisor, path)

    def _renew(self):
        while not self._stop.wait(RENEW_S):
            try:
                self.hypervisor.run("touch", "-c", "--", str(self.path))
            except (HypervisorError, OSError):
                continue  # a link down for a while: the next renewal may pass

    def release(self):
        self._stop.set()
        self._renewer.join(timeout=5)
        self.hypervisor.run("rm", "-f", "--", str(self.path))


def held(hypervisor):
    """The ids of the runs whose lease is held: renewed within LEASE_S, by the host's clock, and
    their runner not seen gone from here (runmark.RunMark.runner_gone_here)."""
    return _held(hypervisor, _leases(hypervisor))


def sweep(hypervisor):
    """Remove the lease files that lapsed (their runs died); their run ids."""
    leases = _leases(hypervisor)
    gone = sorted(set(leases) - _held(hypervisor, leases))
    for run_id in gone:
        hypervisor.run("rm", "-f", "--", str(ROOT / run_id))
    return gone


def _held(hypervisor, leases):
    now = clock(hypervisor) if leases else 0
    return {run_id for run_id, renewed in leases.items() if now - renewed <= LEASE_S
            and not _runner_gone_here(hypervisor, run_id)}


def _leases(hypervisor):
    """{run id: when its lease was last renewed} of the plain files in ROOT."""
    if not is_own_folder(hypervisor, ROOT):
        return {}  # absent, or not vmiso's: nothing in it is trusted
    found = {}
    for name in hypervisor.listdir(ROOT):
        status = hypervisor.lstat(ROOT / name)
        if status is not None and stat.S_ISREG(status.st_mode):
            found[name] = status.st_mtime
    return found


def _runner_gone_here(hypervisor, run_id):
    try:
        mark = RunMark.from_text(hypervisor.read_text(ROOT / run_id))
    except OSError:
        return False  # gone meanwhile: the run ended, and its lease with it
    return mark is not None and mark.runner_gone_here()
