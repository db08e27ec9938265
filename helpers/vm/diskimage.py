"""Checks on a guest disk image before any guest is built on it.

    validate(Path("debian.qcow2"))   # raises ImageError naming the problem and the fix

qemu-img decides the format (never the file name); a raw image must at least carry the boot
signature every bootable disk has (0x55aa at byte 510: MBR, or GPT's protective MBR).
"""

import json
import subprocess

BOOT_SIGNATURE = b"\x55\xaa"


class ImageError(ValueError):
    """The image cannot boot a guest; the message says why and what to pass instead."""


def image_format(path):
    """'qcow2' or 'raw', as qemu-img reads the file."""
    try:
        out = subprocess.run(["qemu-img", "info", "--output=json", str(path)], check=True,
                             capture_output=True, text=True, timeout=30).stdout
    except subprocess.CalledProcessError as err:
        raise ImageError(f"image {path} is unreadable to qemu-img ({err.stderr.strip()[-160:]}); "
                         f"pass a qcow2 or raw disk image") from None
    return json.loads(out)["format"]


def validate(path):
    fmt = image_format(path)
    if fmt == "qcow2":
        check = subprocess.run(["qemu-img", "check", "-q", str(path)], capture_output=True,
                               text=True, timeout=120)
        if check.returncode != 0:
            raise ImageError(f"image {path} is a corrupt qcow2 ({check.stderr.strip()[-160:]}); "
                             f"repair it with qemu-img check -r all or pass another image")
    elif fmt == "raw":
        with open(path, "rb") as f:
            f.seek(510)
            if f.read(2) != BOOT_SIGNATURE:
                raise ImageError(f"image {path} is not a bootable disk (no boot signature at "
                                 f"byte 510); pass a qcow2 or raw disk image of an installed "
                                 f"system")
    else:
        raise ImageError(f"image {path} is {fmt}, not qcow2 or raw; convert it with "
                         f"qemu-img convert -O qcow2")
    return fmt
