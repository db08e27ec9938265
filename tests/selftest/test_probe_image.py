"""The probe image as `make image` builds it from Debian packages: its kernel and initramfs ready
for direct boot (helpers/vm/directboot.py)."""

from guest import build as probe_guest
from helpers.vm.directboot import DirectBoot


def test_the_built_probe_image_boots_directly():
    image = probe_guest.build(probe_guest.DEFAULT_CACHE)
    boot = DirectBoot.beside(image)
    assert boot is not None, "the probe image was built without a direct boot"
    assert boot.kernel.read_bytes()[:4] == b"\x7fELF"
    assert probe_guest.has_pvh_entry(boot.kernel)
    assert boot.initrd.read_bytes()[:6] == b"070701"  # newc cpio
    assert "rdinit=/init" in boot.cmdline
