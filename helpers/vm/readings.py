"""Read-only observations of a guest, taken together in one SSH round trip.

    readings = take(guest)          # guest.readings does this once, at the first check that reads
    readings.text("pci")            # what the `pci` command printed; Undecided if it failed

Hardware and identity do not change while a guest runs, so the checks that read them share one
batch instead of paying a round trip per file. Each command runs in its own subshell, framed by
marker lines that carry a random nonce: no output can forge another reading's frame. A command
that failed, or whose frame is missing, raises Undecided when its reading is asked for, as the
command alone would have.
"""

import re
import secrets

from helpers.patches.listing import LIST_COMMAND
from helpers.verdict.undecided import Undecided

# I/O ports read ahead: the floppy controller's main status register (HV-01) and the data
# registers of the three legacy parallel ports (HV-06).
IO_PORTS = (0x3F4, 0x378, 0x278, 0x3BC)

COMMANDS = {
    "pci": "for d in /sys/bus/pci/devices/*; do echo ${d##*/} $(cat $d/vendor $d/device $d/class);"
           " done",
    "dev": "ls -1 /dev",
    "usb": "if [ -d /sys/bus/usb/devices ]; then ls -1 /sys/bus/usb/devices; fi",
    "virtio": "cat /sys/bus/virtio/devices/*/device 2>/dev/null; true",
    "ninep": "cat /sys/bus/virtio/drivers/9pnet_virtio/*/mount_tag 2>/dev/null; true",
    # "+ class" when virtio_console registered its class, then one "NODE NAME" line per port
    "virtio-ports": "[ -d /sys/class/virtio-ports ] && echo '+ class'; for p in"
                    " /sys/class/virtio-ports/*; do [ -f $p/name ] && echo ${p##*/} $(cat $p/name);"
                    " done; true",
    "dmi": "cd /sys/class/dmi/id && for f in product_uuid product_serial board_serial"
           " chassis_serial; do [ -r $f ] && echo \"$f=$(cat $f)\"; done; true",
    "cpu-flags": "grep -m1 '^flags' /proc/cpuinfo",
    "uname-r": "uname -r",
    "uname-v": "uname -v",
    "os-release": "cat /etc/os-release 2>/dev/null; true",
    # the installed packages (PAT-06): dpkg-query, rpm, or the probe guest's manifest
    "packages": LIST_COMMAND,
    # PnP ids of the devices the firmware describes (ACPI), one per line
    "pnp": "cat /sys/bus/pnp/devices/*/id 2>/dev/null; true",
    # "none [integrity] confidentiality": under Secure Boot the kernel locks /dev/port away
    "lockdown": "cat /sys/kernel/security/lockdown 2>/dev/null; true",
    "io-ports": "for p in " + " ".join(str(p) for p in IO_PORTS) + "; do"
                " echo $p $(dd if=/dev/port bs=1 skip=$p count=1 2>/dev/null | od -An -tx1);"
                " done",
}


class Readings:
    def __init__(self, texts, failures):
        self._texts = texts
        self._failures = failures

    def text(self, name):
        if name in self._failures:
            raise Undecided(f"reading {name!r} in the guest failed: {self._failures[name]}")
        return self._texts[name]


def script(nonce, commands):
    parts = []
    for name, command in commands.items():
        parts.append(f"echo '@@{nonce} {name}'; ( {command} ); echo \"@@{nonce} {name} rc=$?\"")
    return "; ".join(parts)


def parse(output, nonce, commands):
    """Readings from the batch's output: text per name, and what failed."""
    texts, failures = {}, {}
    for name in commands:
        match = re.search(rf"^@@{nonce} {re.escape(name)}\n(.*?)^@@{nonce} {re.escape(name)} "
                          rf"rc=(\d+)$", output, re.S | re.M)
        if match is None:
            failures[name] = "its output never came back"
        elif match.group(2) != "0":
            failures[name] = f"`{commands[name][:60]}` exited {match.group(2)}"
        else:
            texts[name] = match.group(1)
    return Readings(texts, failures)


def take(guest, commands=COMMANDS):
    nonce = secrets.token_hex(6)
    result = guest.run(script(nonce, commands))
    return parse(result.stdout, nonce, commands)
