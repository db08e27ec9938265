"""Facts about the local host's packages, for evidence beside what QEMU reports of itself."""

import subprocess
from pathlib import Path


def qemu_package():
    """'qemu-system-x86 1:7.2+dfsg-7+deb12u18', or '' where dpkg does not know it."""
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}",
                              "qemu-system-x86"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


VULNERABILITIES = Path("/sys/devices/system/cpu/vulnerabilities")


def cpu_vulnerabilities():
    """{name: state} from the kernel's CPU vulnerability report ({} where it has none)."""
    if not VULNERABILITIES.is_dir():
        return {}
    return {p.name: p.read_text().strip() for p in sorted(VULNERABILITIES.iterdir())}


def unmitigated(states):
    """The entries the kernel reports as vulnerable (mitigated and unaffected ones excluded)."""
    return sorted(f"{name}: {state}" for name, state in states.items()
                  if state.startswith("Vulnerable"))
