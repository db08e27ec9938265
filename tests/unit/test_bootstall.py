"""A guest stopped at a firmware or boot loader prompt (helpers/vm/bootstall.py), read from the
consoles this machine's OVMF, SeaBIOS and GRUB wrote."""

import pytest

from helpers.vm.bootstall import stalled

# OVMF with shim and Debian's GRUB on a 256 MiB guest: the kernel does not fit
GRUB_OUT_OF_MEMORY = (
    "\x1b[2J\x1b[01;01H\x1b[=3h\x1b[2J\x1b[01;01HBdsDxe: loading Boot0001 \"UEFI Non-Block Boot "
    "Device\" from PciRoot(0x0)/Pci(0x1,0x1)/Pci(0x0,0x0)\r\n\x1b[0m\x1b[30m\x1b[47mWelcome to "
    "GRUB!\r\n\x1b[0m\x1b[37m\x1b[40merror: out of memory.\r\nerror: you need to load the kernel "
    "first.\r\nerror: you need to load the kernel first.\r\n\x1b[0m\x1b[30m\x1b[40m\x1b[2J"
    "\x1b[01;01H\x1b[02;24HGNU GRUB  version 2.06-13+deb12u2\r\n   Minimal BASH-like line "
    "editing is supported.\r\n\r\ngrub> ")
BOOTING = ("BdsDxe: starting Boot0001 \"UEFI Non-Block Boot Device\"\r\nWelcome to GRUB!\r\n"
           "[    0.000000] Linux version 6.1.0-28-amd64\r\n")


def test_grub_at_its_prompt_is_stalled_with_what_it_said():
    assert stalled(GRUB_OUT_OF_MEMORY) == (
        "GRUB's prompt (error: out of memory.; error: you need to load the kernel first.)")


@pytest.mark.parametrize("console, words", [
    ("UEFI Interactive Shell v2.2\r\nPress ESC in 1 seconds to skip startup.nsh\r\nShell> ",
     "the UEFI shell"),
    ("SeaBIOS (version 1.16.2-debian-1.16.2-1)\r\nBooting from Hard Disk...\r\nBoot failed: "
     "not a bootable disk\r\n\r\nNo bootable device.", "the BIOS: no bootable device"),
    ("BdsDxe: failed to load Boot0001 \"UEFI Misc Device\": Access Denied\r\nBdsDxe: No bootable "
     "option or device was found.", "the UEFI firmware: no bootable option or device"),
])
def test_every_prompt_that_ends_a_boot_is_named(console, words):
    assert stalled(console).startswith(words)


def test_a_secure_boot_refusal_is_said_before_the_prompt():
    said = stalled("BdsDxe: failed to load Boot0001 \"UEFI Misc Device\": Access Denied\r\n"
                   "BdsDxe: No bootable option or device was found.\r\n")
    assert "Access Denied" in said


@pytest.mark.parametrize("console", ["", "\r\n", BOOTING, "grub> ls\r\n(hd0) (hd0,msdos1)\r\n"])
def test_a_console_still_booting_is_no_stall(console):
    assert stalled(console) is None
