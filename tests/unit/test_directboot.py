"""Direct boot: the probe kernel goes to the firmware, and nothing else about the guest changes."""

import dataclasses
import json
import lzma
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from guest import build as probe_guest
from helpers.template.domxml import Domain
from helpers.template.throwaway import Throwaway, instantiate
from helpers.vm.directboot import DirectBoot

ROOT = Path(__file__).resolve().parents[2]

BUILT_IN = ["hardened", "leaky"]


def template(name):
    return Domain.from_string((ROOT / "templates" / f"{name}.xml").read_text())


def with_os(extra, attributes=""):
    xml = (ROOT / "templates" / "hardened.xml").read_text()
    xml = xml.replace("<os>", f"<os{attributes}>{extra}", 1)
    return Domain.from_string(xml)


@pytest.fixture
def boot(tmp_path):
    return DirectBoot(tmp_path / "vmlinux", tmp_path / "initrd.cpio", "console=ttyS0 quiet")


@pytest.fixture
def spec(tmp_path, boot):
    return Throwaway(name="vmiso-t1", mac="52:54:00:12:34:56", overlay=tmp_path / "o.qcow2",
                     seed=tmp_path / "seed.tar", network="vmiso-net", scratch_dir=tmp_path,
                     accelerator="kvm", share_dirs={"hostshare": tmp_path / "share"},
                     direct_boot=boot)


@pytest.mark.parametrize("name", BUILT_IN)
def test_direct_boot_adds_kernel_initrd_and_cmdline_and_nothing_else(name, spec, boot):
    direct = ET.fromstring(instantiate(template(name), spec)[0])
    disk = ET.fromstring(instantiate(template(name), dataclasses.replace(spec,
                                                                         direct_boot=None))[0])
    os_ = direct.find("os")
    assert os_.findtext("kernel") == str(boot.kernel)
    assert os_.findtext("initrd") == str(boot.initrd)
    assert os_.findtext("cmdline") == boot.cmdline
    for tag in ("kernel", "initrd", "cmdline"):
        os_.remove(os_.find(tag))
    for root in (direct, disk):
        root.find("uuid").text = ""
    assert ET.tostring(direct) == ET.tostring(disk)


@pytest.mark.parametrize("name", BUILT_IN)
def test_built_in_templates_boot_directly(name):
    assert DirectBoot.fits(template(name))


@pytest.mark.parametrize("os_extra, attributes", [
    ("<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>", ""),
    ("", " firmware='efi'"),
])
def test_uefi_templates_boot_from_their_disk(os_extra, attributes):
    """The probe disk boots under UEFI through its signed chain (shim, GRUB, kernel)."""
    assert not DirectBoot.fits(with_os(os_extra, attributes))


def test_a_template_with_a_tpm_boots_from_its_disk():
    dom = template("hardened")
    dom.root.find("devices").append(ET.fromstring("<tpm model='tpm-crb'><backend "
                                                  "type='emulator' version='2.0'/></tpm>"))
    assert not DirectBoot.fits(dom)


@pytest.mark.parametrize("label, direct", [
    ("<seclabel type='static' model='dac' relabel='yes'><label>+20001:+64055</label>"
     "</seclabel>", False),
    ("<seclabel type='dynamic' model='dac'/>", False),
    ("<seclabel type='none' model='dac'/>", True),
    ("<seclabel type='dynamic' model='selinux'/>", True)])
def test_a_template_with_a_dac_label_of_its_own_boots_from_its_disk(label, direct):
    """libvirt would chown the shared kernel to the label and refuse it to other guests."""
    dom = template("hardened")
    dom.root.append(ET.fromstring(label))
    assert DirectBoot.fits(dom) is direct


def test_a_template_with_its_own_kernel_boots_the_probe_kernel_directly():
    """Its kernel is a host file, never handed to QEMU (helpers/template/confine.py)."""
    assert DirectBoot.fits(with_os("<kernel>/boot/vmlinuz</kernel>", ""))


def write_manifest(folder, entry):
    (folder / "manifest.json").write_text(json.dumps({"recipe": "x", "direct_boot": entry}))


def test_beside_reads_the_probe_images_manifest(tmp_path):
    for name in ("vmlinux", "initrd.cpio", "probe.img"):
        (tmp_path / name).write_bytes(b"x")
    write_manifest(tmp_path, {"kernel": "vmlinux", "initrd": "initrd.cpio", "cmdline": "quiet"})
    assert DirectBoot.beside(tmp_path / "probe.img") == DirectBoot(
        tmp_path / "vmlinux", tmp_path / "initrd.cpio", "quiet")


@pytest.mark.parametrize("manifest", [None, "not json", {"recipe": "x"}, {"direct_boot": 3}])
def test_an_image_without_a_direct_boot_entry_boots_from_disk(tmp_path, manifest):
    (tmp_path / "guest.qcow2").write_bytes(b"x")
    if manifest is not None:
        text = manifest if isinstance(manifest, str) else json.dumps(manifest)
        (tmp_path / "manifest.json").write_text(text)
    assert DirectBoot.beside(tmp_path / "guest.qcow2") is None


def test_a_missing_kernel_file_means_disk_boot(tmp_path):
    (tmp_path / "initrd.cpio").write_bytes(b"x")
    write_manifest(tmp_path, {"kernel": "vmlinux", "initrd": "initrd.cpio", "cmdline": ""})
    assert DirectBoot.beside(tmp_path / "probe.img") is None


def test_the_kernel_is_found_inside_an_xz_bzimage(tmp_path):
    elf = b"\x7fELF" + bytes(range(256)) * 64
    bzimage = tmp_path / "vmlinuz"
    bzimage.write_bytes(b"MZ setup code" + lzma.compress(elf, format=lzma.FORMAT_XZ) + b"tail")
    assert probe_guest.decompressed_kernel(bzimage) == elf


@pytest.mark.parametrize("payload", [b"no compressed kernel at all",
                                     b"\xfd7zXZ\x00 but not a valid stream",
                                     lzma.compress(b"not an ELF", format=lzma.FORMAT_XZ)])
def test_an_unreadable_bzimage_yields_no_direct_boot(tmp_path, payload):
    bzimage = tmp_path / "vmlinuz"
    bzimage.write_bytes(b"MZ" + payload)
    assert probe_guest.decompressed_kernel(bzimage) is None
