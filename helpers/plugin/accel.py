"""Choose the accelerator: KVM only where it really works, TCG otherwise.

    choose("auto", cpuinfo_text, kvm_present=True)   # 'tcg' for a CPU without vmx/svm
    choose_here("auto")                             # the same for this machine

libvirt's capabilities list domain type kvm whenever /dev/kvm exists, and QEMU then hangs on a CPU
without virtualization extensions, so the decision reads the CPU flags (as virt-host-validate does)
of the host the guests run on: this machine for the local lab, the real host's own /proc/cpuinfo
for --libvirt-uri (fixtures/lab.py), never the controller's.
"""

import os
import re

from helpers.plugin.options import OPT_ACCEL


class AcceleratorError(Exception):
    """The accelerator asked for is not available on the host."""


def kvm_usable(cpuinfo, kvm_present):
    """Whether the CPU (its /proc/cpuinfo text) has virtualization extensions and the host
    offers /dev/kvm."""
    flags = re.search(r"^flags\s*:(.*)$", cpuinfo, flags=re.M)
    has_extensions = bool(flags) and bool({"vmx", "svm"} & set(flags.group(1).split()))
    return has_extensions and kvm_present


def choose(wanted, cpuinfo, kvm_present, where="here"):
    """'kvm' or 'tcg' for --accel auto|kvm|tcg on a host with this CPU and /dev/kvm."""
    usable = kvm_usable(cpuinfo, kvm_present)
    if wanted == "kvm" and not usable:
        raise AcceleratorError(f"{OPT_ACCEL} kvm: KVM is not usable {where} (no vmx/svm CPU flag "
                               f"or no access to /dev/kvm); use {OPT_ACCEL} auto or tcg")
    if wanted == "auto":
        return "kvm" if usable else "tcg"
    return wanted


def choose_here(wanted):
    """The choice for this machine, whose /dev/kvm this process must be able to open."""
    with open("/proc/cpuinfo") as f:
        cpuinfo = f.read()
    return choose(wanted, cpuinfo, os.access("/dev/kvm", os.R_OK | os.W_OK))
