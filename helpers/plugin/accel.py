"""Choose the accelerator: KVM only where it really works, TCG otherwise.

    choose("auto")   # 'tcg' on a machine whose CPU has no vmx/svm, even when /dev/kvm exists

libvirt's capabilities list domain type kvm whenever /dev/kvm exists, and QEMU then hangs on a CPU
without virtualization extensions, so the decision reads the CPU flags (as virt-host-validate does).
"""

import os
import re

from helpers.plugin.options import OPT_ACCEL


class AcceleratorError(Exception):
    """The accelerator asked for is not available here."""


def kvm_usable(cpuinfo="/proc/cpuinfo", device="/dev/kvm"):
    with open(cpuinfo) as f:
        flags = re.search(r"^flags\s*:(.*)$", f.read(), flags=re.M)
    has_extensions = bool(flags) and bool({"vmx", "svm"} & set(flags.group(1).split()))
    return has_extensions and os.access(device, os.R_OK | os.W_OK)


def choose(wanted):
    """'kvm' or 'tcg' for --accel auto|kvm|tcg."""
    usable = kvm_usable()
    if wanted == "kvm" and not usable:
        raise AcceleratorError(f"{OPT_ACCEL} kvm: KVM is not usable here (no vmx/svm CPU flag or "
                               f"no access to /dev/kvm); use {OPT_ACCEL} auto or tcg")
    if wanted == "auto":
        return "kvm" if usable else "tcg"
    return wanted
