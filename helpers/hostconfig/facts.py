"""Facts about the hypervisor's host (helpers/host/hypervisor.py: this machine or a remote one), for
evidence beside what QEMU and libvirt report of themselves.

    facts.distribution(hv)             # 'Debian GNU/Linux 12 (bookworm)'
    facts.kernel(hv)                   # ('6.1.0-41-amd64', '#1 SMP PREEMPT_DYNAMIC Debian ...')
"""

import stat
from pathlib import PurePosixPath

from helpers.host.errors import HypervisorError
from helpers.patches import distro


def distribution(hypervisor):
    """The host's PRETTY_NAME from /etc/os-release ('Debian GNU/Linux 12 (bookworm)'), None
    where it has none."""
    try:
        text = hypervisor.read_text("/etc/os-release")
    except (OSError, HypervisorError):
        return None
    return distro.os_release_fields(text).get("PRETTY_NAME")


def kernel(hypervisor):
    """(release, version) of the host kernel, as `uname -r` and `uname -v` print them."""
    release, version = hypervisor.run("sh", "-c", "uname -r; uname -v").splitlines()[:2]
    return release.strip(), version.strip()


def user_name(hypervisor, uid):
    """The name of user `uid` in the host's own user database; None where it has none."""
    found = hypervisor.host.run("getent passwd %s", str(uid))
    return found.stdout.split(":", 1)[0] if found.rc == 0 and found.stdout else None


def group_members(hypervisor, name):
    """Users in group `name` (its member list plus those whose primary group it is); None
    when the host has no such group."""
    group = hypervisor.host.run("getent group %s", name)
    if group.rc != 0:
        return None
    _, _, gid, members = group.stdout.strip().split(":", 3)
    primary = [line.split(":")[0] for line in hypervisor.run("getent", "passwd").splitlines()
               if line.count(":") >= 3 and line.split(":")[3] == gid]
    return sorted({m for m in members.split(",") if m} | set(primary))


VULNERABILITIES = PurePosixPath("/sys/devices/system/cpu/vulnerabilities")


def cpu_vulnerabilities(hypervisor):
    """{name: state} from the kernel's CPU vulnerability report ({} where it has none)."""
    if not stat.S_ISDIR(hypervisor.mode(VULNERABILITIES) or 0):
        return {}
    return {name: hypervisor.read_text(VULNERABILITIES / name).strip()
            for name in hypervisor.listdir(VULNERABILITIES)}


def unreported(states, required):
    """The required entries the kernel's report lacks: a kernel that does not know a CPU
    vulnerability has no mitigation for it."""
    return [name for name in required if name not in states]


def unmitigated(states):
    """The entries the kernel reports as vulnerable (mitigated and unaffected ones excluded)."""
    return sorted(f"{name}: {state}" for name, state in states.items()
                  if state.startswith("Vulnerable"))
