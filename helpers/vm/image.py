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

    @property
    def seed_name(self):
        return "seed.tar" if self.kind == PROBE else "seed.iso"
