"""Two running guests pinned to one host core for a while, then given back their own pinning: on
one core, how the host shares the CPU between guests shows whatever the other cores run, and a
CPU hog takes at most that core of the host.

    with one_core(guest.domain, sibling.domain) as core:
        ...                            # every vCPU and emulator thread of both on CPU `core`
"""

import contextlib

from helpers.verdict.undecided import Undecided


@contextlib.contextmanager
def one_core(*domains):
    """Every vCPU and emulator thread of `domains` on the first host CPU all of them may use;
    their pinning as it was on exit."""
    import libvirt  # deferred: the pure parts of the coresidency probes import nothing heavy

    try:
        saved = [(d, d.vcpuPinInfo(0), d.emulatorPinInfo(0)) for d in domains]
        shared = [all(cpus) for cpus in zip(*(m for _, vcpus, emu in saved
                                             for m in (*vcpus, emu)))]
    except libvirt.libvirtError as err:
        raise Undecided(f"libvirt could not say where the guests' threads may run: {err}") \
            from None
    if True not in shared:
        raise Undecided("the guests' pinning shares no host CPU: their threads never meet")
    core = shared.index(True)
    only = tuple(cpu == core for cpu in range(len(shared)))
    try:
        for domain, vcpus, _ in saved:
            for vcpu in range(len(vcpus)):
                domain.pinVcpu(vcpu, only)
            domain.pinEmulator(only, 0)
        yield core
    except libvirt.libvirtError as err:
        raise Undecided(f"libvirt could not pin the guests' threads to CPU {core}: {err}") \
            from None
    finally:
        for domain, vcpus, emulator in saved:
            with contextlib.suppress(libvirt.libvirtError):
                for vcpu, cpus in enumerate(vcpus):
                    domain.pinVcpu(vcpu, cpus)
                domain.pinEmulator(emulator, 0)
