"""The mark every guest of a run carries in its domain XML (<metadata>), so that a later run can
tell the leftovers of a run that died from anything else on the host.

    mark = RunMark.current("1a2b3c")
    root.append(mark.metadata())              # in the domain XML
    RunMark.of(domain).runner_is_gone()       # True once the process that made it is gone

A domain is swept only when it carries a mark, the mark names this machine (its boot id) and the
runner process is gone; domains without a mark are never touched, whatever their name.
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

    @classmethod
    def current(cls, run_id):
        return cls(run_id, BOOT_ID.read_text().strip(), os.getpid(), _start_time(os.getpid()))

    def metadata(self):
        """A <metadata> element holding the mark."""
        metadata = ET.Element("metadata")
        ET.SubElement(metadata, f"{{{NAMESPACE}}}run", id=self.run_id, boot=self.boot_id,
                      pid=str(self.pid), started=self.started)
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
                       run.get("started", ""))
        except ValueError:
            return None

    def to_text(self):
        """The mark as one line: what a guest's folder on the host keeps (MARK_FILE)."""
        return f"{self.run_id} {self.boot_id} {self.pid} {self.started}\n"

    @classmethod
    def from_text(cls, text):
        try:
            run_id, boot_id, pid, started = text.split()
            return cls(run_id, boot_id, int(pid), started)
        except ValueError:
            return None

    def runner_is_gone(self):
        """True only when the runner ran on this machine since its last boot and has exited."""
        if self.boot_id != BOOT_ID.read_text().strip():
            return False  # another machine's (or another boot's) run: not ours to judge
        return _start_time(self.pid) != self.started


def sweep_folders(hypervisor, root, prefix):
    """Remove the guest folders under `root` whose mark says their runner is gone (a run killed
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
        if mark is not None and mark.runner_is_gone():
            hypervisor.remove_tree(f"{root}/{name}")
            swept.append(name)
    return swept


def sweep(conn, prefix):
    """Destroy the domains named `prefix`... whose mark says their runner is gone; their names."""
    swept = []
    for domain in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
        if not domain.name().startswith(prefix):
            continue
        mark = RunMark.of(domain)
        if mark is not None and mark.runner_is_gone():
            try:
                domain.destroy()
                swept.append(domain.name())
            except libvirt.libvirtError:
                continue
    return swept
