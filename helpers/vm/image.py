"""The disk image guests boot: the suite's own probe guest, or a user's cloud image (--image).

    image = GuestImage.probe(Path(".cache/guest/<hash>/probe.img"))
    image = GuestImage.cloud(Path("debian-12.qcow2"), user="vmiso", probe_tool=tool)

The probe guest takes its keys from a tar archive on a seed disk and is logged into as root over
dropbear. A cloud image gets a cloud-init NoCloud seed (helpers/vm/cloudinit.py) that creates the
login user with passwordless sudo and pins the SSH host key; vmiso-probe, a static binary, is
copied in over SFTP and every command runs through sudo.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from helpers.vm.directboot import DirectBoot

PROBE, CLOUD = "probe", "cloud"
# What the probe image's UEFI boot needs: shim and Debian's GRUB load its kernel, whose image
# asks for 64 MiB to unpack, below 1 GiB; on 256 MiB GRUB says "out of memory" (measured).
PROBE_UEFI_BOOT_MIB = 512


@dataclass(frozen=True)
class GuestImage:
    path: Path
    kind: str  # PROBE or CLOUD
    user: str  # whom the suite logs in as
    probe_tool: Optional[Path] = None  # vmiso-probe on this machine, copied into cloud guests
    direct_boot: Optional[DirectBoot] = None

    @classmethod
    def probe(cls, path):
        return cls(Path(path), PROBE, "root", direct_boot=DirectBoot.beside(path))

    @classmethod
    def cloud(cls, path, user, probe_tool):
        return cls(Path(path), CLOUD, user, Path(probe_tool))

    def boot_memory_mib(self, template):
        """The least guest memory this image boots in under `template`'s firmware, from disk; 0
        where the template's own is the image's business (a cloud image) or BIOS suffices."""
        return PROBE_UEFI_BOOT_MIB if self.kind == PROBE and template.uses_uefi else 0

    @property
    def seed_name(self):
        return "seed.tar" if self.kind == PROBE else "seed.iso"
