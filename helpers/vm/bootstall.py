"""A guest stopped at a firmware or boot loader prompt, read from its serial console.

    stalled("... error: out of memory.\\n...\\ngrub> ")
    # "GRUB's prompt (error: out of memory.; error: you need to load the kernel first.)"

The probe guest boots without a word from anyone: a prompt on its console means it will never
get further, and waiting out the boot timeout for its DHCP lease only hides why. A prompt is
the last line the console shows; what the firmware or boot loader said before it goes with it.
"""

import re

ANSI = re.compile(r"\x1b\[[0-9;=?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r")
# (the console's last line, the prompt in words)
PROMPTS = (
    (re.compile(r"^grub> ?$"), "GRUB's prompt"),
    (re.compile(r"^(grub )?rescue> ?$"), "GRUB's rescue prompt"),
    (re.compile(r"^Shell> ?$"), "the UEFI shell (the firmware found nothing to boot)"),
    (re.compile(r"^boot: ?$"), "SYSLINUX's boot prompt"),
    (re.compile(r"No bootable device"), "the BIOS: no bootable device"),
    (re.compile(r"No bootable option or device was found"),
     "the UEFI firmware: no bootable option or device"),
)
SAID_BEFORE = re.compile(r"^(error:|BdsDxe: failed|Boot Failed|.*Access Denied|.*Security "
                         r"Violation|.*Verification failed)", re.I)


def stalled(console):
    """The prompt the console ends at, with what was said before it; None while it boots."""
    lines = [line.strip() for line in ANSI.sub("", console).split("\n")]
    lines = [line for line in lines if line]
    if not lines:
        return None
    for prompt, words in PROMPTS:
        if prompt.search(lines[-1]):
            said = list(dict.fromkeys(line for line in lines[:-1] if SAID_BEFORE.match(line)))
            return f"{words} ({'; '.join(said)})" if said else words
    return None
