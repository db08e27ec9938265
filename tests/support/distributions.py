"""Hosts of other distributions, simulated: what a host's sshd answers when vmiso reads its
/etc/os-release, asks dpkg-query or rpm -q for a package's version, lists the installed
packages (dpkg-query -W, rpm -qa), or runs uname. Files put over the real ones in the sshd's
private mount namespace (tests/support/sshhost.py overlays); the machine's own files are never
touched.

    overlays = UBUNTU_2204.overlays(tmp_path)        # {"/etc/os-release": ..., ...}
    with SshHost.start(lab, home, overlays=overlays) as host: ...
"""

import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

from tests.support.expected import UNMITIGATED_CPU

UNAME = Path("/usr/bin/uname")
# The source package of each simulated binary package
SOURCES = {"qemu-system-x86": "qemu", "libvirt-daemon": "libvirt", "qemu-kvm-core": "qemu-kvm"}


@dataclass(frozen=True)
class Simulated:
    name: str
    os_release: str
    manager: str  # dpkg-query or rpm
    packages: dict  # binary package -> version the manager reports
    uname_r: str
    uname_v: str

    def overlays(self, folder):
        folder = Path(folder) / self.name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "os-release").write_text(self.os_release)
        shutil.copy(UNAME, folder / "uname-real")
        _script(folder / "uname", f"""case "$1" in
  -r) echo {shlex.quote(self.uname_r)} ;;
  -v) echo {shlex.quote(self.uname_v)} ;;
  *) exec {shlex.quote(str(folder / 'uname-real'))} "$@" ;;
esac""")
        _script(folder / self.manager, self._manager_script())
        return {"/etc/os-release": folder / "os-release", "/usr/bin/uname": folder / "uname",
                f"/usr/bin/{self.manager}": folder / self.manager,
                **_mitigated_cpu(folder / "cpu")}

    def listing(self):
        """Every installed package, as `dpkg-query -W -f FORMAT` or `rpm -qa --qf FORMAT` print
        them in the fields vmiso asks for (helpers/patches/packages.py)."""
        if self.manager == "rpm":
            return "".join(f"{p}\t{v}\t{SOURCES[p]}-{v.partition(':')[2] or v}.src.rpm\n"
                           for p, v in self.packages.items())
        return "".join(f"ii \t{p}\t{v}\t{SOURCES[p]}\t{v}\t\n" for p, v in self.packages.items())

    def _manager_script(self):
        """The package's version for `dpkg-query -W -f FORMAT PKG` or `rpm -q --qf FORMAT PKG`
        (the last argument), as the format vmiso asks for prints it; the listing for
        `dpkg-query -W -f FORMAT` and `rpm -qa --qf FORMAT`."""
        cases = "\n".join(f"  {shlex.quote(p)}) version={shlex.quote(v)} ;;"
                          for p, v in self.packages.items())
        missing = ("echo \"dpkg-query: no packages found matching $package\" >&2" if
                   self.manager == "dpkg-query" else "echo \"package $package is not installed\"")
        return f"""if [ "$1" = -qa ] || {{ [ "$1" = -W ] && [ $# -eq 3 ]; }}; then
  printf '%s' {shlex.quote(self.listing())}
  exit 0
fi
for package; do :; done
case "$package" in
{cases}
  *) {missing}; exit 1 ;;
esac
printf '%s' "$version"
"""


def _mitigated_cpu(folder):
    """Overlays for each CPU vulnerability this machine's kernel reports unmitigated: a simulated
    host's PAT-03 is judged by its kernel's version, whatever CPU this machine has."""
    folder.mkdir(exist_ok=True)
    for report in UNMITIGATED_CPU:
        (folder / report.name).write_text("Not affected\n")
    return {str(report): folder / report.name for report in UNMITIGATED_CPU}


def _script(path, body):
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


DEBIAN_12 = Simulated(
    "debian-12",
    'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n'
    'VERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n',
    "dpkg-query", {"qemu-system-x86": "1:7.2+dfsg-7+deb12u18", "libvirt-daemon": "9.0.0-4+deb12u2"},
    "6.1.0-41-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.158-1 (2025-11-02)")
# the same host one kernel update behind: CVE-2025-38352 is fixed in 6.1.158-1
DEBIAN_12_BEHIND = Simulated(
    "debian-12-behind", DEBIAN_12.os_release, "dpkg-query", DEBIAN_12.packages,
    "6.1.0-40-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.153-1 (2025-09-20)")
UBUNTU_2204 = Simulated(
    "ubuntu-22.04",
    'PRETTY_NAME="Ubuntu 22.04.5 LTS"\nNAME="Ubuntu"\nVERSION_ID="22.04"\n'
    'VERSION="22.04.5 LTS (Jammy Jellyfish)"\nVERSION_CODENAME=jammy\nID=ubuntu\nID_LIKE=debian\n',
    "dpkg-query", {"qemu-system-x86": "1:6.2+dfsg-2ubuntu6.22",
                   "libvirt-daemon": "8.0.0-1ubuntu7.10"},
    "5.15.0-91-generic", "#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023")
ROCKY_9 = Simulated(
    "rocky-9",
    'NAME="Rocky Linux"\nVERSION="9.4 (Blue Onyx)"\nID="rocky"\nID_LIKE="rhel centos fedora"\n'
    'VERSION_ID="9.4"\nPLATFORM_ID="platform:el9"\nPRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"\n',
    "rpm", {"qemu-kvm-core": "17:8.2.0-11.el9_4.4", "libvirt-daemon": "10.0.0-6.7.el9_4"},
    "5.14.0-427.42.1.el9_4.x86_64", "#1 SMP PREEMPT_DYNAMIC Fri Oct 18 14:35:40 UTC 2024")
