"""The CPU controls libvirt applies to a running guest (<cputune>, through the cgroups it gives
QEMU), read back live.

    controls = cpu_controls(guest.domain)
    # {'cpu_shares': 1024, 'global_period': 100000, 'global_quota': 150000, 'vcpu_quota': -1, ...}
    bound(controls, guest.live.cpu_shares)
    # 'global_quota 150000 µs per 100000 µs for the whole guest'; '' where nothing bounds it
"""

from helpers.verdict.undecided import Undecided

# A quota libvirt reads back as this (cgroup v2's "max") or below 1 is no quota.
UNLIMITED_QUOTA = 17592186044415


def cpu_controls(domain):
    """libvirt's scheduler parameters for the running guest; {} where libvirt gave its QEMU no
    CPU cgroup, so that no <cputune> setting applies."""
    import libvirt  # deferred: bound() is pure and unit-tested without libvirt

    try:
        return domain.schedulerParametersFlags(libvirt.VIR_DOMAIN_AFFECT_LIVE)
    except libvirt.libvirtError as err:
        if err.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID:
            return {}
        raise Undecided(f"libvirt could not read the guest's CPU controls: {err}") from None


def bound(controls, template_shares=""):
    """How the guest's use of the host's CPUs is bounded, in words; '' where nothing bounds it:
    a quota for the whole guest, quotas for its vCPUs and its emulator threads together, or a
    share weight its <cputune><shares> sets and libvirt applies."""
    if _finite(controls, "global_quota"):
        return (f"global_quota {controls['global_quota']} µs per "
                f"{controls.get('global_period')} µs for the whole guest")
    if _finite(controls, "vcpu_quota") and _finite(controls, "emulator_quota"):
        return (f"vcpu_quota {controls['vcpu_quota']} µs per vCPU and emulator_quota "
                f"{controls['emulator_quota']} µs")
    if template_shares and controls.get("cpu_shares") == int(template_shares):
        return f"cpu_shares {controls['cpu_shares']}, the weight <cputune><shares> sets"
    return ""


def describe(controls):
    """What libvirt reports, in words, for the evidence."""
    if not controls:
        return "no CPU cgroup for QEMU: libvirt reports no CPU bound for the guest"
    return ", ".join(f"{key} {value}" for key, value in sorted(controls.items())
                     if key == "cpu_shares" or key.endswith("_quota"))


def _finite(controls, key):
    return 0 < controls.get(key, -1) < UNLIMITED_QUOTA
