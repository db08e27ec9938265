"""What a QEMU command line (as libvirt's domainXMLToNative writes it) gives the guest: the
ground truth the static rules are held to in tests/selftest/test_static_agreement.py.

    argv = QemuArgv.parse(conn.domainXMLToNative("qemu-argv", xml, 0))
    argv.machine, argv.devices, argv.cpu_model, argv.cpu_flags, argv.display_addresses
    argv.ports, argv.chardevs
"""

import json
import re
import shlex
from dataclasses import dataclass, field

from helpers.template.rules import is_loopback

# -device names libvirt uses that QEMU's device tree shows under another (canonical) name.
ALIASES = {"lsi": "lsi53c895a", "ahci": "ich9-ahci"}
DEFAULT_CPU_MODEL = "qemu64"


@dataclass
class QemuArgv:
    machine: str = ""
    devices: list = field(default_factory=list)
    cpu_model: str = DEFAULT_CPU_MODEL
    cpu_flags: dict = field(default_factory=dict)  # name -> True (on) / False (off)
    display_addresses: list = field(default_factory=list)  # where VNC/SPICE listen on TCP
    ports: list = field(default_factory=list)  # virtio-serial port names
    chardevs: list = field(default_factory=list)  # (backend, {setting: value})

    @classmethod
    def parse(cls, text):
        argv = cls()
        words = shlex.split(text)
        for option, value in zip(words, words[1:] + [""]):
            reader = getattr(argv, "_" + option.lstrip("-"), None)
            if option.startswith("-") and reader is not None:
                reader(value)
        return argv

    def _machine(self, value):
        self.machine = value.split(",")[0]

    def _device(self, value):
        props = json.loads(value) if value.startswith("{") else \
            dict(_settings(value), driver=value.split(",")[0])
        self.devices.append(ALIASES.get(props["driver"], props["driver"]))
        if props["driver"] == "virtserialport":
            self.ports.append(props.get("name", ""))

    def _chardev(self, value):
        self.chardevs.append((value.split(",")[0], _settings(value)))

    def _cpu(self, value):
        model, *flags = value.split(",")
        self.cpu_model = model
        for flag in flags:
            if flag[:1] in "+-":
                self.cpu_flags[flag[1:]] = flag[0] == "+"
            elif "=" in flag:
                name, setting = flag.split("=", 1)
                self.cpu_flags[name] = setting in ("on", "true", "yes")

    def _vnc(self, value):
        where = value.split(",")[0]
        if not where.startswith(("unix:", "none")):
            self.display_addresses.append(where.rpartition(":")[0] or "0.0.0.0")

    def _spice(self, value):
        settings = _settings(value)
        if settings.get("port", "0") != "0" or settings.get("tls-port", "0") != "0":
            self.display_addresses.append(settings.get("addr", "0.0.0.0"))

    def exposed_displays(self):
        return [a for a in self.display_addresses if not is_loopback(a.strip("[]"))]


def _settings(value):
    return dict(p.split("=", 1) for p in value.split(",") if "=" in p)


def qtree_types(tree):
    return set(re.findall(r"dev: ([^,\s]+)", tree))
