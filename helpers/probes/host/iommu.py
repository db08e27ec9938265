"""The host's IOMMU, which fences a device passed through to a guest: its DMA confined to the
guest's memory (IOMMU groups), its interrupts remapped so that it cannot forge another's (MSI
injection). Read on this machine or over SSH (helpers/host/hypervisor.py).

    state = Iommu.read(hv)   # Iommu(groups=42, remapped_irq_chips=('IR-PCI-MSI',), ...)
    state.fences            # True: groups, interrupt remapping on, VFIO not told to do without it

Interrupt remapping shows in /proc/interrupts: the kernel names every interrupt chip it routes
through the remapping table IR-... (IR-IO-APIC, IR-PCI-MSI), on Intel (DMAR) and AMD (IVRS)
alike. VFIO refuses a device on a host without it unless vfio_iommu_type1's
allow_unsafe_interrupts is set.
"""

from dataclasses import dataclass
from pathlib import PurePosixPath

from helpers.hostconfig.kernel import ENABLED, read_value

GROUPS = PurePosixPath("/sys/kernel/iommu_groups")
INTERRUPTS = PurePosixPath("/proc/interrupts")
UNSAFE = PurePosixPath("/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts")


@dataclass(frozen=True)
class Iommu:
    groups: int
    remapped_irq_chips: tuple
    unsafe_interrupts: bool

    @classmethod
    def read(cls, hypervisor):
        try:
            groups = len(hypervisor.listdir(GROUPS))
        except FileNotFoundError:
            groups = 0
        chips = remapped_chips(hypervisor.read_text(INTERRUPTS))
        unsafe = (read_value(hypervisor, UNSAFE) or "N").lower() in ENABLED
        return cls(groups, chips, unsafe)

    @property
    def fences(self):
        return self.groups > 0 and bool(self.remapped_irq_chips) and not self.unsafe_interrupts

    def __str__(self):
        remapping = f"interrupt remapping on ({', '.join(self.remapped_irq_chips)})" \
            if self.remapped_irq_chips else "no interrupt remapped (no IR- chip)"
        unsafe = "; vfio_iommu_type1 allow_unsafe_interrupts=Y" if self.unsafe_interrupts else ""
        return f"{self.groups} IOMMU groups; {remapping}{unsafe}"


def remapped_chips(interrupts):
    """The interrupt chips of /proc/interrupts that go through the remapping table."""
    chips = set()
    for line in interrupts.splitlines()[1:]:
        chips.update(word for word in line.split() if word.startswith("IR-"))
    return tuple(sorted(chips))
