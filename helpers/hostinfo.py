"""Facts about the local host's packages, for evidence beside what QEMU reports of itself."""

import subprocess


def qemu_package():
    """'qemu-system-x86 1:7.2+dfsg-7+deb12u18', or '' where dpkg does not know it."""
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}",
                              "qemu-system-x86"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""
