"""Host kernel settings that let a guest reach its neighbours on the same host without escaping:
KSM merging their memory pages, SMT siblings shared between them, KVM offering nested
virtualization. Read on this machine or over SSH (helpers/host/hypervisor.py).

    Ksm.read(hv)           # Ksm(run=1, pages_sharing=5120): .merging is True
    Smt.read(hv)           # Smt(control='on', active=True, vulnerable=('mds: ... SMT vulnerable',))
    nested_kvm(hv)         # {'kvm_intel': 'Y'}: each loaded KVM module's `nested` parameter
"""

from dataclasses import dataclass
from pathlib import PurePosixPath

from helpers.hostconfig import facts

KSM = PurePosixPath("/sys/kernel/mm/ksm")
SMT = PurePosixPath("/sys/devices/system/cpu/smt")
MODULES = PurePosixPath("/sys/module")
KVM_MODULES = ("kvm_intel", "kvm_amd")
SMT_OFF = ("off", "forceoff", "notsupported", "notimplemented")
ENABLED = ("y", "1")


def read_value(hypervisor, path):
    """A sysfs attribute's text, stripped; None where the kernel has no such file."""
    try:
        return hypervisor.read_text(path).strip()
    except FileNotFoundError:
        return None


@dataclass(frozen=True)
class Ksm:
    run: int | None  # 0 stopped, 1 merging, 2 stopped and unmerged; None: no KSM in the kernel
    pages_sharing: int

    @classmethod
    def read(cls, hypervisor):
        run = read_value(hypervisor, KSM / "run")
        sharing = read_value(hypervisor, KSM / "pages_sharing") if run is not None else None
        return cls(None if run is None else int(run), int(sharing or 0))

    @property
    def merging(self):
        return self.run == 1

    def __str__(self):
        if self.run is None:
            return f"no {KSM}: the kernel has no KSM"
        state = {0: "stopped", 1: "merging", 2: "stopped, pages unmerged"}.get(self.run, "?")
        return f"run = {self.run} ({state}), {self.pages_sharing} pages shared"


@dataclass(frozen=True)
class Smt:
    control: str | None  # on, off, forceoff, notsupported, notimplemented; None: no report
    active: bool
    vulnerable: tuple  # the CPU vulnerability reports that say "SMT vulnerable"

    @classmethod
    def read(cls, hypervisor):
        control = read_value(hypervisor, SMT / "control")
        active = read_value(hypervisor, SMT / "active") == "1"
        states = facts.cpu_vulnerabilities(hypervisor)
        return cls(control, active, tuple(sorted(f"{name}: {state}" for name, state
                                                 in states.items() if "SMT vulnerable" in state)))

    @property
    def shared(self):
        """Sibling threads can run two guests on one core."""
        return self.active or self.control not in SMT_OFF

    def __str__(self):
        return f"control = {self.control or 'unreported'}, active = {int(self.active)}"


def nested_kvm(hypervisor):
    """{module: value of its `nested` parameter} for each KVM module the host has loaded."""
    found = {}
    for module in KVM_MODULES:
        value = read_value(hypervisor, MODULES / module / "parameters" / "nested")
        if value is not None:
            found[module] = value
    return found


def nested_enabled(parameters):
    return sorted(m for m, value in parameters.items() if value.lower() in ENABLED)
