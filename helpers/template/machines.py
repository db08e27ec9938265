"""Fit a template from another distribution to this host's QEMU: emulator, machine, firmware.

    qemu = HostQemu.parse(conn.getCapabilities(), conn.getDomainCapabilities())
    adaptations = qemu.fit(root)    # root: the XML being made for the throwaway guest

A RHEL template names /usr/libexec/qemu-kvm and pc-q35-rhel9.2.0, a SUSE one /usr/bin/qemu-kvm:
where this host lacks the emulator it gets the host's own for the same architecture, and where
its QEMU lacks the machine type, the newest of the same family (q35 stays q35, i440fx stays
i440fx: the family decides which devices the board itself brings, such as i440fx's floppy
controller). A UEFI <loader> this host does not have (RHEL's /usr/share/edk2/ovmf/...) becomes
libvirt's choice among the host's own firmware, with Secure Boot and enrolled keys where the
template's loader was secure. Each change is one adaptation for the report; the static
checks judge the template as given.
"""

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

DEFAULT_ARCH = "x86_64"
# Aliases QEMU gives a family's newest machine; versioned names are <family>-<version>, where a
# downstream version carries a prefix (pc-q35-rhel9.2.0).
ALIAS_FAMILY = {"q35": "pc-q35", "pc": "pc-i440fx"}
VERSIONED = re.compile(r"^(?P<family>.+?)-(?P<vendor>[a-z]*)(?P<version>\d+(\.\d+)*)$")


def family(machine):
    """'pc-q35' for q35, pc-q35-7.2 and pc-q35-rhel9.2.0; the name itself when unversioned."""
    if machine in ALIAS_FAMILY:
        return ALIAS_FAMILY[machine]
    match = VERSIONED.match(machine)
    return match.group("family") if match else machine


def _version(machine):
    match = VERSIONED.match(machine)
    return tuple(int(part) for part in match.group("version").split(".")) if match else ()


@dataclass
class HostQemu:
    # arch -> emulator paths libvirt knows for it (the first is the default)
    emulators: dict = field(default_factory=dict)
    # arch -> machine type names and aliases its QEMU offers
    machines: dict = field(default_factory=dict)
    loaders: set = field(default_factory=set)  # UEFI firmware files libvirt can give a guest

    @classmethod
    def parse(cls, capabilities_xml, domain_capabilities_xml=None):
        qemu = cls()
        if domain_capabilities_xml:
            qemu.loaders = {v.text for v in ET.fromstring(domain_capabilities_xml)
                            .iterfind("os/loader/value") if v.text}
        for arch in ET.fromstring(capabilities_xml).iterfind("guest/arch"):
            name = arch.get("name")
            paths = [e.text for e in arch.iter("emulator") if e.text]
            qemu.emulators.setdefault(name, []).extend(p for p in paths
                                                       if p not in qemu.emulators[name])
            qemu.machines.setdefault(name, set()).update(m.text for m in arch.iter("machine")
                                                         if m.text)
        return qemu

    def fit(self, root):
        os_type = root.find("os/type")
        arch = os_type.get("arch", DEFAULT_ARCH) if os_type is not None else DEFAULT_ARCH
        if arch not in self.emulators:
            return []  # libvirt names what it cannot run
        return (self._fit_emulator(root, arch) + self._fit_machine(os_type, arch)
                + self._fit_loader(root.find("os")))

    def _fit_loader(self, os_):
        loader = None if os_ is None else os_.find("loader")
        if loader is None or not (loader.text or "").strip() or not self.loaders \
                or loader.text.strip() in self.loaders:
            return []
        secure = "yes" if loader.get("secure") == "yes" else "no"
        os_.remove(loader)
        nvram = os_.find("nvram")
        if nvram is not None:
            nvram.attrib.pop("template", None)  # the missing firmware's variables
        os_.set("firmware", "efi")
        firmware = os_.find("firmware")
        if firmware is None:
            firmware = ET.SubElement(os_, "firmware")
        for feature in ("secure-boot", "enrolled-keys"):
            ET.SubElement(firmware, "feature", enabled=secure, name=feature)
        return [f"<loader> {loader.text.strip()} (not on this host) -> this host's UEFI "
                f"firmware{' with Secure Boot and enrolled keys' if secure == 'yes' else ''}, "
                f"as libvirt picks it"]

    def _fit_emulator(self, root, arch):
        emulator = root.find("devices/emulator")
        if emulator is None or not emulator.text or emulator.text in self.emulators[arch]:
            return []
        given, emulator.text = emulator.text, self.emulators[arch][0]
        return [f"<emulator> {given} -> {emulator.text} (this host's QEMU for {arch})"]

    def _fit_machine(self, os_type, arch):
        machine = None if os_type is None else os_type.get("machine")
        if not machine or machine in self.machines[arch]:
            return []
        closest = self.closest(arch, machine)
        if closest is None:
            return []
        os_type.set("machine", closest)
        return [f"machine {machine} -> {closest} (this host's QEMU lacks it; the newest of the "
                f"same family, {family(machine)})"]

    def closest(self, arch, machine):
        """The newest machine of `machine`'s family this host offers, or None."""
        kin = [m for m in self.machines.get(arch, ())
               if family(m) == family(machine) and VERSIONED.match(m)]
        return max(kin, key=_version, default=None)
