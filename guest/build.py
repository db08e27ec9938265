"""Build the probe guest disk image from Debian packages, cached by the hash of its recipe.

    python3 -m guest.build [--cache DIR]     # prints the path of the built image

The image is a FAT disk holding a Debian kernel and an initramfs (busybox, dropbear, the kernel
modules in modules.txt and vmiso-probe), bootable under both firmwares: syslinux in its boot
sector for BIOS, and for UEFI Debian's signed boot chain at the removable-media path
(EFI/BOOT/BOOTX64.EFI is shim, signed by the Microsoft UEFI CA; it verifies Debian's signed GRUB,
which verifies Debian's signed kernel), so the guest boots under Secure Boot with the keys a
template's firmware enrolls. Nothing is installed on the host: packages are fetched with
`apt-get download` and unpacked into a build folder. The guest has no package database: the
initramfs carries /usr/share/vmiso/packages, the packages it was made from as dpkg-query lists
them (package, version, source and its version, Built-Using), which PAT-06 judges.

Beside the image lie the same kernel decompressed (vmlinux) and the initramfs uncompressed, named
in manifest.json under "direct_boot": under emulation most of a disk boot is the kernel
decompressing itself, so the suite hands these to the firmware instead (helpers/vm/directboot.py).
"""

import argparse
import gzip
import json
import lzma
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from guest import recipe
from guest.recipe import BuildError
from helpers.local import command
from helpers.patches.listing import DPKG_FORMAT, MANIFEST

RECIPE_DIR = Path(__file__).resolve().parent
RECIPE_FILES = ("build.py", "packages.txt", "modules.txt", "init", "udhcpc.script",
                "syslinux.cfg", "vmiso-probe.c")
DEFAULT_CACHE = RECIPE_DIR.parent / ".cache" / "guest"
IMAGE_NAME = "probe.img"
IMAGE_MIB = 48
KERNEL_NAME = "vmlinux"
INITRD_NAME = "initrd.cpio"
PROBE_TOOL = "vmiso-probe"  # also beside the image: copied into guests of other images
# A line per package in the image's manifest, in the fields of DPKG_FORMAT ("ii ": the
# package is in the image as if installed); the probe guest has no package database.
MANIFEST_FORMAT = "ii " + DPKG_FORMAT.partition("}")[2]


def recipe_hash():
    return recipe.recipe_hash(RECIPE_DIR, RECIPE_FILES)


def listed(name):
    return recipe.listed(RECIPE_DIR / name)


def run(*cmd, cwd=None):
    return command.run(*cmd, error=BuildError, purpose="building the probe guest", cwd=cwd).stdout


def kernel_package():
    """The versioned kernel package that linux-image-amd64 points at."""
    depends = run("apt-cache", "depends", "linux-image-amd64")
    match = re.search(r"Depends: (linux-image-[0-9][^\s]*)", depends)
    if not match:
        raise BuildError("apt knows no linux-image-amd64: run `apt-get update`")
    return match.group(1)


def fetch_and_unpack(work):
    packages = [kernel_package() if p == "linux-image-amd64" else p for p in listed("packages.txt")]
    debs = work / "debs"
    root = work / "unpacked"
    debs.mkdir()
    root.mkdir()
    run("apt-get", "download", *packages, cwd=debs)
    versions, listing = {}, []
    for deb in sorted(debs.glob("*.deb")):
        fields = run("dpkg-deb", "-f", str(deb), "Package", "Version").splitlines()
        versions[fields[0].split(": ", 1)[1]] = fields[1].split(": ", 1)[1]
        listing.append(run("dpkg-deb", "--show", f"--showformat={MANIFEST_FORMAT}", str(deb)))
        run("dpkg-deb", "-x", str(deb), str(root))
    (work / "packages").write_text("".join(listing))
    return root, versions


def kernel_release(root):
    releases = [p.name for p in (root / "lib/modules").iterdir()]
    if len(releases) != 1:
        raise BuildError(f"expected one kernel in the unpacked packages, found {releases}")
    return releases[0]


def module_closure(root, release):
    """Paths (relative to the modules dir) of the wanted modules and all they depend on."""
    run("depmod", "-b", str(root), release)
    deps = {}
    for line in (root / "lib/modules" / release / "modules.dep").read_text().splitlines():
        path, _, needs = line.partition(":")
        deps[path] = needs.split()
    by_name = {Path(p).name.removesuffix(".ko").replace("-", "_"): p for p in deps}
    wanted, todo = set(), []
    for name in listed("modules.txt"):
        if name.replace("-", "_") not in by_name:
            raise BuildError(f"kernel {release} has no module {name}")
        todo.append(by_name[name.replace("-", "_")])
    while todo:
        path = todo.pop()
        if path not in wanted:
            wanted.add(path)
            todo.extend(deps[path])
    return sorted(wanted)


def assemble_initramfs(work, root, release):
    fs = work / "initramfs"
    for sub in ("bin", "sbin", "etc/dropbear", "root/.ssh", "proc", "sys", "dev", "run", "tmp",
                "mnt", "lib", "lib64"):
        (fs / sub).mkdir(parents=True, exist_ok=True)
    shutil.copy(root / "bin/busybox", fs / "bin/busybox")
    for applet in run(str(fs / "bin/busybox"), "--list").split():
        if applet != "busybox":
            (fs / "bin" / applet).symlink_to("busybox")
    copy_tools_and_libraries(root, fs)
    modules_src = root / "lib/modules" / release
    for rel in module_closure(root, release):
        dest = fs / "lib/modules" / release / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(modules_src / rel, dest)
    for meta in ("modules.order", "modules.builtin", "modules.builtin.modinfo"):
        if (modules_src / meta).exists():
            shutil.copy(modules_src / meta, fs / "lib/modules" / release / meta)
    run("depmod", "-b", str(fs), release)
    run("gcc", "-static", "-Os", "-Wall", "-o", str(fs / "bin/vmiso-probe"),
        str(RECIPE_DIR / "vmiso-probe.c"))
    shutil.copy(RECIPE_DIR / "init", fs / "init")
    shutil.copy(RECIPE_DIR / "udhcpc.script", fs / "etc/udhcpc.script")
    (fs / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (fs / "etc/group").write_text("root:x:0:\n")
    (fs / "etc/shells").write_text("/bin/sh\n")
    # The packages come from this host's release: the guest says which (PAT-04 reads it).
    shutil.copy("/etc/os-release", fs / "etc/os-release")
    # and which packages it was made from, as dpkg-query would list them (PAT-06 reads it)
    manifest = fs / MANIFEST.lstrip("/")
    manifest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(work / "packages", manifest)
    for script in ("init", "etc/udhcpc.script"):
        (fs / script).chmod(0o755)
    listing = subprocess.run(["find", "."], cwd=fs, check=True, capture_output=True).stdout
    archive = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet", "-R", "0:0"], cwd=fs,
                             input=listing, check=True, capture_output=True).stdout
    (work / INITRD_NAME).write_bytes(archive)
    initrd = work / "initrd.gz"
    initrd.write_bytes(gzip.compress(archive, compresslevel=6))
    return initrd


DYNAMIC_TOOLS = ("usr/sbin/dropbear", "usr/sbin/qemu-ga")
LIBRARY_DIRS = ("lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu")
LOADER = "ld-linux-x86-64.so.2"


def needed(path):
    """The shared libraries an ELF file names as NEEDED (readelf, from binutils)."""
    out = run("readelf", "-d", str(path))
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def library_closure(root, binaries):
    """Every library the binaries need, directly or through other libraries, as found in the
    unpacked packages: {name: path}."""
    found, todo = {}, [lib for b in binaries for lib in needed(root / b)] + [LOADER]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        source = next((root / d / name for d in LIBRARY_DIRS if (root / d / name).exists()),
                      None)
        if source is None:
            raise BuildError(f"library {name} is missing from the unpacked packages: add its "
                             f"package to guest/packages.txt")
        found[name] = source.resolve()
        todo.extend(needed(found[name]))
    return found


def copy_tools_and_libraries(root, fs):
    """dropbear and the QEMU guest agent are dynamically linked: bring them with their loader
    and libraries from the unpacked packages."""
    for tool in DYNAMIC_TOOLS:
        shutil.copy(root / tool, fs / "sbin" / Path(tool).name)
    for name, source in library_closure(root, DYNAMIC_TOOLS).items():
        shutil.copy(source, fs / "lib" / name)
    (fs / "lib64/ld-linux-x86-64.so.2").symlink_to("../lib/ld-linux-x86-64.so.2")
    (fs / "etc/ld.so.conf").write_text("/lib\n")
    (fs / "lib/x86_64-linux-gnu").symlink_to(".")


# The UEFI boot chain, from the packages: shim at the path firmware boots removable media from,
# GRUB beside it (shim loads grubx64.efi from its own folder). Debian's signed GRUB finds its
# disk by the file /.disk/info and reads /boot/grub/grub.cfg there.
EFI_FILES = (("usr/lib/shim/shimx64.efi.signed", "EFI/BOOT/BOOTX64.EFI"),
             ("usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed", "EFI/BOOT/grubx64.efi"))


def make_disk(work, root, release, initrd):
    """A FAT image booted by the firmware like any disk: syslinux in its boot sector for BIOS,
    shim and GRUB at EFI/BOOT for UEFI, both starting the same kernel with the same command
    line."""
    image = work / IMAGE_NAME
    run("mkfs.vfat", "-C", "-n", "VMISOPROBE", str(image), str(IMAGE_MIB * 1024))
    run("syslinux", "--install", str(image))
    grub_cfg = work / "grub.cfg"
    grub_cfg.write_text(f"set timeout=0\nlinux /vmlinuz {kernel_cmdline()}\n"
                        f"initrd /initrd.gz\nboot\n")
    disk_info = work / "info"
    disk_info.write_text("vmiso probe guest\n")
    kernel = root / "boot" / f"vmlinuz-{release}"
    run("mmd", "-i", str(image), "::/EFI", "::/EFI/BOOT", "::/boot", "::/boot/grub", "::/.disk")
    for source, name in ((kernel, "vmlinuz"), (initrd, "initrd.gz"),
                         (RECIPE_DIR / "syslinux.cfg", "syslinux.cfg"),
                         *((root / packaged, name) for packaged, name in EFI_FILES),
                         (grub_cfg, "boot/grub/grub.cfg"), (disk_info, ".disk/info")):
        run("mcopy", "-i", str(image), str(source), f"::{name}")
    return image


def decompressed_kernel(bzimage):
    """The kernel inside a bzImage as the ELF it decompresses to, or None where it cannot be had
    (an unknown compression, or no PVH entry point for QEMU to boot it through)."""
    data = bzimage.read_bytes()
    start = data.find(b"\xfd7zXZ\x00")
    if start < 0:
        return None
    try:
        elf = lzma.LZMADecompressor().decompress(data[start:])
    except lzma.LZMAError:
        return None
    return elf if elf.startswith(b"\x7fELF") else None


def has_pvh_entry(elf_path):
    """Whether the ELF kernel names a PVH entry point (Xen ELF note 0x12), which QEMU boots."""
    return re.search(r"^\s*Xen\s+0x[0-9a-f]+\s+Unknown note type: \(0x00000012\)",
                     run("readelf", "-n", str(elf_path)), re.M) is not None


def stage_direct_boot(work, root, release):
    """vmlinux beside the image, and the manifest entry that names it with the initramfs."""
    elf = decompressed_kernel(root / "boot" / f"vmlinuz-{release}")
    if elf is None:
        return None
    (work / KERNEL_NAME).write_bytes(elf)
    if not has_pvh_entry(work / KERNEL_NAME):
        (work / KERNEL_NAME).unlink()
        return None
    return {"kernel": KERNEL_NAME, "initrd": INITRD_NAME, "cmdline": kernel_cmdline()}


def kernel_cmdline():
    """The kernel command line syslinux.cfg gives the disk boot."""
    for line in (RECIPE_DIR / "syslinux.cfg").read_text().splitlines():
        if line.strip().startswith("APPEND "):
            return line.strip().removeprefix("APPEND ")
    raise BuildError("guest/syslinux.cfg has no APPEND line")


def build(cache):
    target = cache / recipe_hash()
    if (target / IMAGE_NAME).exists():
        return target / IMAGE_NAME
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="build-", dir=cache) as tmp:
        work = Path(tmp)
        root, versions = fetch_and_unpack(work)
        release = kernel_release(root)
        initrd = assemble_initramfs(work, root, release)
        make_disk(work, root, release, initrd)
        direct_boot = stage_direct_boot(work, root, release)
        shutil.copy(work / "initramfs/bin" / PROBE_TOOL, work / PROBE_TOOL)
        manifest = {"recipe": recipe_hash(), "kernel": release, "packages": versions,
                    "probe_tool": PROBE_TOOL}
        staged_names = [IMAGE_NAME, "manifest.json", PROBE_TOOL]
        if direct_boot:
            manifest["direct_boot"] = direct_boot
            staged_names += [KERNEL_NAME, INITRD_NAME]
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        staged = work / "out"
        staged.mkdir()
        for name in staged_names:
            (work / name).chmod(0o555 if name == PROBE_TOOL else 0o444)
            (work / name).rename(staged / name)
        staged.chmod(0o755)
        publish(staged, target)
    return target / IMAGE_NAME


def publish(staged, target):
    """Move the staged image folder into place at once; where another build of the same recipe
    (a run started beside this one) got there first, its image stands and this one is dropped."""
    try:
        os.replace(staged, target)
    except OSError:
        if not (target / IMAGE_NAME).exists():
            raise


def probe_tool(image):
    """vmiso-probe as built beside the probe image (a static binary any x86-64 guest runs)."""
    return Path(image).parent / PROBE_TOOL


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()
    try:
        print(build(args.cache.resolve()))
    except BuildError as err:
        sys.exit(f"vmiso: cannot build the probe guest: {err}")


if __name__ == "__main__":
    main()
