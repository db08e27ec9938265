"""Direct boot: the probe guest's kernel handed to the firmware, not read from the guest's disk.

    boot = DirectBoot.beside(image)      # from the probe image's manifest; None for any other
    if boot and boot.fits(template):
        ...                  # helpers/template/throwaway.py adds <kernel>, <initrd>, <cmdline>

Under emulation most of a disk boot is the kernel decompressing itself: about 3 of the probe
guest's 5 seconds to /init on a 2-core TCG host. The probe image ships its kernel decompressed;
QEMU loads it through fw_cfg and enters it through its PVH entry point, under the firmware and on
the hardware the template declares. The guest's disk stays attached and bootable.
"""

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DirectBoot:
    kernel: Path
    initrd: Path
    cmdline: str

    @classmethod
    def beside(cls, image):
        """The direct boot the image's build manifest names, if its files are all there."""
        manifest = Path(image).parent / "manifest.json"
        try:
            entry = json.loads(manifest.read_text())["direct_boot"]
            boot = cls(manifest.parent / entry["kernel"], manifest.parent / entry["initrd"],
                       entry["cmdline"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return boot if boot.kernel.is_file() and boot.initrd.is_file() else None

    @staticmethod
    def fits(template):
        """PVH entry goes through SeaBIOS: only a template on the default BIOS firmware is
        booted directly (a kernel of the template's own is never used: confine.py). Beside a
        TPM, the probe kernel entered through PVH never brought its NICs up here (no DHCP in
        60 s) where the same kernel booted from the disk does: such a template boots from
        its disk. A template with a DAC label of its own boots from its disk too: libvirt would
        chown the shared kernel and initramfs to that label, and refuse them to every other
        guest while it runs."""
        os_ = template.root.find("os")
        if template.root.find("devices/tpm") is not None:
            return False
        if any(label.get("model") == "dac" and label.get("type") != "none"
               for label in template.root.findall("seclabel")):
            return False
        if os_ is None:
            return True
        return os_.get("firmware") in (None, "bios") and os_.find("loader") is None
