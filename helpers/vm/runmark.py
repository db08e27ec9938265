"""The mark every guest of a run carries in its domain XML (<metadata>), so that a later run can
tell the leftovers of a run that died from anything else on the host.

    mark = RunMark.current("1a2b3c")
    root.append(mark.metadata())              # in the domain XML
    RunMark.of(domain).is_dead(runlease.held(hypervisor))   # its run's lease lapsed, or its
                                                            # runner is seen gone from here

A domain is swept only when it carries a mark and its run is dead: the run's lease on the host
lapsed (helpers/vm/runlease.py), whoever sweeps; or the sweeper runs on the runner's machine
(its boot id) in the runner's PID namespace and sees the runner process gone. A live run is never
swept, wherever its controller runs. Domains without a mark are never touched, whatever their
name.
"""

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import libvirt

from helpers.host.hostfolder import is_own_folder

NAMESPACE = "urn:vmiso:run:1"
MARK_FILE = "run-mark"  # in a guest's folder on the host: its run's mark, as one line
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
PID_NAMESPACE = Path("/proc/self/ns/pid")


def _start_time(pid):
    """The process's start time in clock ticks since boot (pid reuse changes it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


@dataclass(frozen=True)
class RunMark:
    run_id: str
    boot_id: str
    pid: int
    started: str
    pid_namespace: str  # e.g. pid:[4026531836]: where `pid` names the runner

    @classmethod
    def current(cls, run_id):
        return cls(run_id, BOOT_ID.read_text().strip(), os.getpid(), _start_time(os.getpid()),
                   _pid_namespace())

    def metadata(self):
        """A <metadata> element holding the mark."""
        metadata = ET.Element("metadata")
        ET.SubElement(metadata, f"{{{NAMESPACE}}}run", id=self.run_id, boot=self.boot_id,
                      pid=str(self.pid), started=self.started, pidns=self.pid_namespace)
        return metadata

    @classmethod
    def of(cls, domain):
        """The mark of a domain, or None when it carries none."""
        try:
            xml = domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, NAMESPACE, 0)
        except libvirt.libvirtError:
            return None
        run = ET.fromstring(xml)
        try:
            return cls(run.get("id", ""), run.get("boot", ""), int(run.get("pid", "")),
                       run.get("started", ""), run.get("pidns", ""))
        except ValueError:
            return None

    def to_text(self):
        """The mark as one line: what a guest's folder on the host keeps (MARK_FILE)."""
        return (f"{self.run_id} {self.boot_id} {self.pid} {self.started} "
                f"{self.pid_namespace}\n")

    @classmethod
    def from_text(cls, text):
        try:
            run_id, boot_id, pid, started, pid_namespace = text.split()
            return cls(run_id, boot_id, int(pid), started, pid_namespace)
        except ValueError:
            return None

    def is_dead(self, live_runs):
        """Whether the run is over: its lease is not among `live_runs` (runlease.held), or its
        runner is seen gone from here."""
        return self.run_id not in live_runs or self.runner_gone_here()

    def runner_gone_here(self):
        """True only when the runner ran on this machine since its last boot, in this PID
        namespace (elsewhere its pid names another process, or none), and has exited."""
        if (self.boot_id, self.pid_namespace) != (BOOT_ID.read_text().strip(), _pid_namespace()):
            return False  # another machine's, boot's or PID namespace's run: its lease decides
        return _start_time(self.pid) != self.started


def _pid_namespace():
    return os.readlink(PID_NAMESPACE)


def sweep_folders(hypervisor, root, prefix, live_runs):
    """Remove the guest folders under `root` whose mark says their run is dead (a run killed
    before its domain started leaves a folder and no domain); their names."""
    if not is_own_folder(hypervisor, root):
        return []  # absent, or not vmiso's: nothing in it is entered
    names = [n for n in hypervisor.listdir(root) if n.startswith(prefix)]
    swept = []
    for name in (n for n in names if is_own_folder(hypervisor, f"{root}/{n}")):
        try:
            mark = RunMark.from_text(hypervisor.read_text(f"{root}/{name}/{MARK_FILE}"))
        except OSError:
            continue
        if mark is not None and mark.is_dead(live_runs):
            hypervisor.remove_tree(f"{root}/{name}")
            swept.append(name)
    return swept


# What undefining a swept domain removes with it: its managed-save image and snapshot metadata;
# its UEFI variables and TPM state live in its guest folder, which sweep_folders removes.
UNDEFINE = (libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
            libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
            libvirt.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM | libvirt.VIR_DOMAIN_UNDEFINE_KEEP_TPM)


def sweep(conn, prefix, live_runs):
    """Destroy the domains named `prefix`... whose mark says their run is dead, and undefine
    those left defined (ESC-10's managed save makes its guest persistent for a few seconds);
    their names."""
    swept = []
    for domain in conn.listAllDomains(0):
        if not domain.name().startswith(prefix):
            continue
        mark = RunMark.of(domain)
        if mark is not None and mark.is_dead(live_runs):
            try:
                persistent = domain.isPersistent()  # a transient one is gone once destroyed
                if domain.isActive():
                    domain.destroy()
                if persistent:
                    domain.undefineFlags(UNDEFINE)
                swept.append(domain.name())
            except libvirt.libvirtError:
                continue
    return swept
