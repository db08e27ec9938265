"""Whose problem it is when libvirt refuses to start a guest: the template's or the host's.

    refusal = Refusal.of("unsupported configuration: TPM version '2.0' is not supported",
                         template)
    refusal.on_host         # True: swtpm is missing on the host, the template is fine
    str(refusal)            # one line: what libvirt said, whose problem it is, and the fix

A host problem (a permission, missing firmware, a missing package or module, a full disk) is
fixed on the host, never by editing the template; anything else is an element of the template
that this host's libvirt and QEMU cannot run, named where the message lets us find it.
"""

import re
from dataclasses import dataclass

from helpers.template import expansion, unhonoured

# (what libvirt or QEMU says, what is wrong with the host, the fix): the first match decides.
HOST_CAUSES = (
    (r"keepalive timeout|[Cc]onnection closed|End of file while reading data|Cannot recv data",
     "the host's libvirtd stopped answering while the guest started",
     "see libvirtd's log on the host, and run again"),
    (r"cannot acquire state change lock|Timed out during operation",
     "libvirt on the host is busy with another job on the domain",
     "run again; restart libvirtd there if it persists"),
    (r"\(as uid:(\d+), gid:(\d+)\): Permission denied",
     "QEMU's user (uid {0}, gid {1}) cannot read a file the guest needs",
     "give that user read access to the file libvirt names and search access to every folder "
     "above it"),
    (r"Permission denied|Operation not permitted",
     "a permission on the host stops libvirt or QEMU",
     "give QEMU's user access to what libvirt names"),
    (r"No space left on device|Disk quota exceeded",
     "the host's disk is full", "free some space where libvirt names"),
    (r"Cannot allocate memory|Out of memory|cannot set up guest memory",
     "the host is out of memory", "free memory on the host or run fewer guests at once"),
    (r"firmware to satisfy|var store for loader|OVMF|ovmf|\bAAVMF\b|edk2",
     "the UEFI firmware the template asks for is not installed on the host",
     "install it (Debian: apt-get install ovmf)"),
    (r"swtpm|TPM version '[\d.]+' is not supported|TPM (emulator|backend)",
     "the TPM emulator is not installed on the host",
     "install it (Debian: apt-get install swtpm swtpm-tools)"),
    (r"vhost-vsock",
     "the host has no /dev/vhost-vsock", "load the vhost_vsock kernel module on the host"),
    (r"Cannot (check|find) QEMU binary ([^:]+): No such file|Cannot find '([^']+)' in path",
     "a program libvirt needs is not installed on the host",
     "install the package that provides it (apt-file search)"),
    (r"virtlogd-sock|virtlockd-sock",
     "libvirt's log or lock daemon is not running on the host",
     "start virtlogd (and virtlockd) beside libvirtd"),
    (r"referenced filter '([^']+)' is missing",
     "the traffic filter {0} the template names is not defined on the host",
     "define it there (vmiso-no-host-access, the hardened template's: vmiso nwfilter "
     "<the host's URI>)"),
    (r"(/sys/fs/cgroup/[^': ]*)",
     "libvirt could not set up the guest's cgroup on the host ({0})",
     "see libvirtd's log on the host; nothing else may remove or change libvirt's machine "
     "cgroups while a guest starts"),
    (r"/dev/kvm|KVM kernel module",
     "QEMU cannot use KVM on the host",
     "give QEMU's user access to /dev/kvm, or run with --accel tcg"),
)
# unhonoured.REFUSALS: the host lacks a cgroup controller an element needs
MISSING_CONTROLLER_FIX = ("enable the {} controller for libvirt's machine slice (cgroup v2: "
                          "list it in the parent's cgroup.subtree_control), or test the "
                          "template on a host that has it")
# QEMU refusing one of its -device arguments: the device (JSON or key=value) and why
QEMU_DEVICE = re.compile(r"-device (\{[^}]*\}|[^\s:]+): (.+?)(?:$|; )")
IN_USE_BY = re.compile(r"in use by ([\w.-]+)")
# Elements that say nothing about what was refused when a message happens to name them.
VAGUE = {"domain", "devices", "name", "model", "source", "target", "driver", "address", "alias"}


@dataclass(frozen=True)
class Refusal:
    template: str  # the template's name
    message: str  # libvirt's words
    on_host: bool
    what: str  # whose problem it is, in a few words
    fix: str

    @classmethod
    def of(cls, message, template):
        controller, purpose = unhonoured.missing_controller(message)
        if controller:
            return cls(template.name, message, True,
                       f"the host's libvirt has no {controller} cgroup controller for QEMU, "
                       f"which {purpose} needs", MISSING_CONTROLLER_FIX.format(controller))
        for pattern, what, fix in HOST_CAUSES:
            found = re.search(pattern, message)
            if found:
                groups = found.groups()
                return cls(template.name, message, True, what.format(*groups),
                           fix.format(*groups))
        element = device_element(message, template) or named_element(message, template.root)
        where = element or "the element libvirt names"
        return cls(template.name, message, False,
                   f"the template asks for what this host's libvirt and QEMU cannot run: "
                   f"{where}", f"change or remove {where} in the template")

    def __str__(self):
        return (f"libvirt refused the domain from template {self.template!r}: {self.message}; "
                f"{self.what}: {self.fix}")


def device_element(message, template):
    """The template element behind the device QEMU refused, found by the devices the message
    names (the one another is "in use by" first), never by its words; None where it names
    none the template makes."""
    found = QEMU_DEVICE.search(message)
    if found is None:
        return None
    named = IN_USE_BY.findall(found.group(2)) + [expansion.device_type(found.group(1))]
    raw = expansion.raw_devices(template)
    devices = raw + [d for d in expansion.qemu_devices(template) if d.element is not None]
    for qemu_type in named:
        device = next((d for d in devices if d.qemu_type == qemu_type), None)
        if device is not None:
            return device.source if device in raw else \
                f"{expansion.describe(device.element)} ({device.source})"
    return None


def named_element(message, root):
    """The template element a message is about, as `<tag attr='value'>`: one whose attribute
    value the message quotes, else one whose tag it names; None when none is."""
    lowered = message.lower()
    elements = [e for e in root.iter() if e is not root]
    for element in elements:
        for attribute, value in element.attrib.items():
            if f"'{value.lower()}'" in lowered:
                return f"<{element.tag} {attribute}='{value}'>"
    for element in elements:
        if element.tag not in VAGUE and re.search(rf"\b{re.escape(element.tag)}\b", lowered):
            return f"<{element.tag}>"
    return None
