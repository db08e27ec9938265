"""What a host cannot honour for a host reason, dropped from the throwaway guest's XML and said.

    change = drop(root, "unsupported configuration: cgroup cpu is required for scheduler tuning")
    change  # "<cputune> shares, quota... removed: the host's libvirt has no cpu cgroup ..."

libvirt refuses a whole domain when its host lacks a cgroup controller one element needs (the
CPU controller for <cputune>'s scheduler settings). The template is not at fault, and one
element must not blind every other control: the element is removed, like <memtune> on a host
without CAP_SYS_RESOURCE, and the change is recorded. The control that element serves then
fails live (the guest runs unbounded), owned by the adaptation, whose fix is the host's; every
other control is decided on a guest that runs.
"""

import re

# libvirt 9.0's refusals for a cgroup controller its host lacks (src/qemu/qemu_process.c,
# src/hypervisor/domain_cgroup.c): what it says -> (the controller, what needs it)
REFUSALS = (
    (re.compile(r"cgroup (\w+) is required for ([\w ]+?)(?:$|[;,.])"), None, None),
    (re.compile(r"CPU tuning is not available on this host"), "cpu", "CPU shares"),
    (re.compile(r"Block I/O tuning is not available on this host"), "blkio", "block I/O tuning"),
    (re.compile(r"Memory cgroup is not available on this host"), "memory", "memory limits"),
)
# controller -> the elements (paths under <domain>) libvirt applies through it
NEEDS_CONTROLLER = {
    "cpu": ("cputune/shares", "cputune/period", "cputune/quota", "cputune/global_period",
            "cputune/global_quota", "cputune/emulator_period", "cputune/emulator_quota",
            "cputune/iothread_period", "cputune/iothread_quota"),
    "memory": ("memtune/hard_limit", "memtune/soft_limit", "memtune/swap_hard_limit"),
    "blkio": ("blkiotune",),
}


def drop(root, message):
    """Remove from `root` (an ElementTree element, changed in place) the elements libvirt's
    refusal `message` says the host cannot apply; one line saying so, or None when the refusal
    is not one of those (or nothing is left to remove, so trying again would change nothing)."""
    controller, purpose = missing_controller(message)
    if controller not in NEEDS_CONTROLLER:
        return None
    removed = [path for path in NEEDS_CONTROLLER[controller] if _remove(root, path)]
    if not removed:
        return None
    return (f"{_describe(removed)} removed: the host's libvirt has no {controller} cgroup "
            f"controller for QEMU, which {purpose} needs (libvirt: {message.strip()}); enable "
            f"the {controller} controller for libvirt's machine slice on the host")


def missing_controller(message):
    """(the cgroup controller, what needs it) where libvirt's refusal says the host lacks one,
    else (None, None)."""
    for pattern, controller, purpose in REFUSALS:
        found = pattern.search(message)
        if found:
            return (controller, purpose) if controller else found.groups()
    return None, None


def _remove(root, path):
    parent_path, _, tag = path.rpartition("/")
    parent = root.find(parent_path) if parent_path else root
    element = None if parent is None else parent.find(tag)
    if element is None:
        return False
    parent.remove(element)
    if parent_path and len(parent) == 0 and not (parent.text or "").strip():
        root.remove(parent)  # an empty <cputune> says nothing
    return True


def _describe(removed):
    parent = removed[0].rpartition("/")[0]
    if not parent:
        return ", ".join(f"<{path}>" for path in removed)
    return f"<{parent}> " + ", ".join(path.rpartition("/")[2] for path in removed)
