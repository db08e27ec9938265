"""What a host's qemu.conf promises every guest's QEMU, with libvirt's defaults where it is silent
(libvirt 9.0's src/qemu/qemu.conf.in documents each).

    conf = QemuConf("/etc/libvirt/qemu.conf", libvirtdconf.parse(text))
    conf.get("seccomp_sandbox")      # '1': libvirt's default, unless the file says otherwise
    conf.widened_device_acl          # ['/dev/sda']: devices beyond libvirt's default ACL
    conf.describe("namespaces")      # 'namespaces = [] (/etc/libvirt/qemu.conf)'
"""

from dataclasses import dataclass

# libvirt's defaults for the settings vmiso judges (qemu.conf.in, libvirt 9.0)
DEFAULT_DEVICE_ACL = ("/dev/null", "/dev/full", "/dev/zero", "/dev/random", "/dev/urandom",
                      "/dev/ptmx", "/dev/kvm", "/dev/userfaultfd")
DEFAULTS = {"clear_emulator_capabilities": "1", "seccomp_sandbox": "1", "dump_guest_core": "0",
            "stdio_handler": "logd", "namespaces": ["mount"],
            "cgroup_device_acl": list(DEFAULT_DEVICE_ACL), "security_driver": "",
            # unset, libvirt uses every controller it knows that the host mounts
            "cgroup_controllers": ["cpu", "devices", "memory", "blkio", "cpuset", "cpuacct"]}


@dataclass(frozen=True)
class QemuConf:
    path: str
    settings: dict

    def get(self, key):
        """The setting as libvirt applies it: the file's value, else libvirt's default."""
        return self.settings.get(key, DEFAULTS.get(key, ""))

    def describe(self, key):
        """`key = value (where it comes from)`, as a host owner finds it."""
        value = self.get(key)
        shown = "[" + ", ".join(f'"{v}"' for v in value) + "]" if isinstance(value, list) \
            else f'"{value}"' if value and not value.isdigit() else value or '""'
        where = self.path if key in self.settings else f"libvirt's default, unset in {self.path}"
        return f"{key} = {shown} ({where})"

    @property
    def widened_device_acl(self):
        """Host devices every guest's QEMU may open beyond libvirt's own list."""
        return [path for path in self.get("cgroup_device_acl") if path not in DEFAULT_DEVICE_ACL]
