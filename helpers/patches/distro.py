"""Which distribution build a component is, for judging it by distribution data (OSV).

    ecosystem(Path("/etc/os-release").read_text())        # 'Debian:12'
    debian_build("7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)")  # '1:7.2+dfsg-7+deb12u18'
    debian_build("#1 SMP PREEMPT_DYNAMIC Debian 6.1.158-1 (2025-11-02)")  # '6.1.158-1'
"""

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Build:
    """A distribution build of a component: OSV ecosystem, source package and version."""
    ecosystem: str
    package: str
    version: str


# OSV ecosystem names by os-release ID (https://ossf.github.io/osv-schema/#affectedpackage-field)
ECOSYSTEMS = {"debian": "Debian"}


def ecosystem(os_release):
    """'Debian:12' from the text of an os-release file; None for an unknown distribution."""
    fields = dict(re.findall(r'^(\w+)="?([^"\n]*)"?$', os_release, re.M))
    name = ECOSYSTEMS.get(fields.get("ID", ""))
    if not name or not fields.get("VERSION_ID"):
        return None
    return f"{name}:{fields['VERSION_ID']}"


def debian_build(text):
    """The Debian source version in a version string ('Debian <version>'), its binNMU suffix
    dropped (OSV records name source versions); None when the text names no Debian build."""
    match = re.search(r"Debian (\d[\w.+:~-]*)", text)
    return re.sub(r"\+b\d+$", "", match.group(1)) if match else None


def installed_version(hypervisor, package):
    """The dpkg version of an installed binary package on the hypervisor's host, or None."""
    out = hypervisor.host.run("dpkg-query -W -f '${Version}' %s", package)
    return re.sub(r"\+b\d+$", "", out.stdout.strip()) if out.rc == 0 else None


def host_build(target, package, version):
    """The Build of a package on the target's host; None when its distribution or version is
    unknown."""
    if not version:
        return None
    return Build(ecosystem(target.hypervisor.read_text("/etc/os-release")), package, version)
