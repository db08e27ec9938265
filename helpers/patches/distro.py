"""Which distribution a host runs, and which build of QEMU, libvirt and the kernel it has, for
judging them by that distribution's OSV records.

    dist = distribution(Path("/etc/os-release").read_text())   # Debian GNU/Linux 12 (bookworm)
    dist.matches("Debian:12")                                   # True
    dist.kernel_build("6.1.0-41-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.158-1 (2025-11-02)")
    # Build(packages=('linux',), version='6.1.158-1', ...)
    installed_build(hypervisor, dist, "qemu")                  # from dpkg-query or rpm -q

Debian and Ubuntu builds are read with dpkg-query and ordered as dpkg orders them; Red Hat
Enterprise Linux, Rocky Linux and AlmaLinux builds with rpm -q, ordered as rpm orders them.
"""

import re
import shlex
from dataclasses import dataclass

ARCHES = ("x86_64", "aarch64", "ppc64le", "s390x", "i686", "noarch")


@dataclass(frozen=True)
class Family:
    """What differs between distributions of one packaging family."""
    manager: str  # dpkg or rpm
    packages: dict  # component -> (binary package to ask the manager, names OSV records use)


DPKG = Family("dpkg", {"qemu": ("qemu-system-x86", ("qemu",)),
                       "libvirt": ("libvirt-daemon", ("libvirt",)),
                       "kernel": (None, ("linux",))})
RPM = Family("rpm", {"qemu": ("qemu-kvm-core", ("qemu-kvm", "qemu-kvm-core")),
                     "libvirt": ("libvirt-daemon", ("libvirt", "libvirt-daemon")),
                     "kernel": (None, ("kernel", "kernel-core"))})


@dataclass(frozen=True)
class Build:
    """A distribution build of a component: the names its OSV records use, its version, and
    where the version was read."""
    packages: tuple
    version: str
    source: str

    @property
    def package(self):
        return self.packages[0]


@dataclass(frozen=True)
class Distribution:
    id: str  # os-release ID: debian, ubuntu, rhel, rocky, almalinux
    release: str  # VERSION_ID
    name: str  # PRETTY_NAME
    lts: bool = False

    @property
    def family(self):
        return DPKG if self.id in ("debian", "ubuntu") else RPM

    @property
    def major(self):
        return self.release.split(".")[0]

    def matches(self, ecosystem):
        """Whether an OSV ecosystem is this release's."""
        if self.id == "debian":
            return ecosystem == f"Debian:{self.major}"
        if self.id == "ubuntu":
            return ecosystem in (f"Ubuntu:{self.release}", f"Ubuntu:{self.release}:LTS")
        if self.id == "rhel":
            return ecosystem == f"Red Hat:enterprise_linux:{self.major}" or \
                ecosystem.startswith(f"Red Hat:enterprise_linux:{self.major}::")
        prefix = {"rocky": "Rocky Linux", "almalinux": "AlmaLinux"}[self.id]
        return ecosystem == f"{prefix}:{self.major}"

    def names(self, component):
        return self.family.packages[component][1]

    def kernel_build(self, release, version):
        """The kernel's build from `uname -r` and `uname -v`, None where they name none of
        this distribution."""
        if self.id == "debian":
            match = re.search(r"Debian (\d[\w.+:~-]*)", version)
            text = re.sub(r"\+b\d+$", "", match.group(1)) if match else None
        elif self.id == "ubuntu":
            abi = re.match(r"(\d+\.\d+\.\d+-\d+)-", release)
            upload = re.match(r"#(\d+)(~[\w.~+]+)?-Ubuntu", version)
            text = f"{abi.group(1)}.{upload.group(1)}{upload.group(2) or ''}" \
                if abi and upload else None
        else:
            head, dot, arch = release.rpartition(".")
            text = head if dot and arch in ARCHES and "-" in head else None
        source = f"uname -r {release}, uname -v {version}"
        return Build(self.names("kernel"), text, source) if text else None

    def __str__(self):
        return self.name


# os-release IDs whose OSV ecosystems vmiso reads
KNOWN = ("debian", "ubuntu", "rhel", "rocky", "almalinux")


def os_release_fields(os_release):
    """{FIELD: value} of an os-release text, quotes removed."""
    return dict(re.findall(r'^(\w+)="?([^"\n]*)"?$', os_release, re.M))


def distribution(os_release):
    """The Distribution an os-release text names; None for one vmiso has no records for."""
    fields = os_release_fields(os_release)
    dist_id, release = fields.get("ID", ""), fields.get("VERSION_ID", "")
    if dist_id not in KNOWN or not release:
        return None
    return Distribution(dist_id, release, fields.get("PRETTY_NAME") or f"{dist_id} {release}",
                        "LTS" in fields.get("VERSION", ""))


def installed_build(hypervisor, dist, component):
    """The Build of a component's installed package on the hypervisor's host, read with the
    distribution's package manager; None where it is not installed."""
    binary, names = dist.family.packages[component]
    if dist.family.manager == "dpkg":
        command = f"dpkg-query -W -f '${{source:Version}}' {shlex.quote(binary)}"
    else:
        command = (f"rpm -q --qf '%|EPOCH?{{%{{EPOCH}}:}}:{{}}|%{{VERSION}}-%{{RELEASE}}' "
                   f"{shlex.quote(binary)}")
    out = hypervisor.host.run(command)
    version = out.stdout.strip().splitlines()[0].strip() if out.rc == 0 and out.stdout.strip() \
        else ""
    if not version or " " in version:
        return None
    return Build(names, version, f"{command.split()[0]} {binary}")
