"""The verdicts the built-in templates must get on this machine, and the vantages each control is
checked from (the control table of docs/controls.md).

    expected_status("hardened", "HV-01")    # 'pass'
"""

from pathlib import Path

from tests.support import matrix

# Vantages the control table of docs/controls.md lists for each control (several have one
# vantage only).
VANTAGES = {
    "HV-01": {"outside", "inside"},
    "HV-02": {"outside", "inside"},
    "HV-03": {"outside", "inside"},
    "HV-04": {"outside", "inside"},
    "HV-05": {"outside", "inside"},
    "HV-06": {"outside", "inside"},
    "HV-07": {"outside", "inside"},
    "HV-08": {"outside"},
    "HV-09": {"outside"},
    "HV-10": {"outside"},
    "ESC-01": {"outside"},
    "ESC-02": {"outside"},
    "ESC-03": {"outside"},
    "ESC-04": {"outside"},
    "ESC-05": {"outside"},
    "ESC-06": {"outside"},
    "ESC-09": {"outside"},
    "ESC-10": {"outside"},
    "ESC-07": {"outside"},
    "ESC-08": {"outside"},
    "SHR-01": {"outside", "inside"},
    "SHR-02": {"outside", "inside"},
    "SHR-03": {"outside", "inside"},
    "SHR-04": {"outside", "inside"},
    "SHR-05": {"outside", "inside"},
    "NET-01": {"outside", "inside"},
    "NET-02": {"inside"},
    "NET-03": {"inside"},
    "NET-04": {"outside", "inside"},
    "NET-05": {"outside", "inside"},
    "NET-06": {"outside", "inside"},
    "DEV-01": {"outside"},
    "DEV-02": {"outside", "inside"},
    "DEV-03": {"outside"},
    "DEV-04": {"outside"},
    "DEV-05": {"outside"},
    "DEV-06": {"outside"},
    "DEV-07": {"outside"},
    "DEV-08": {"outside"},
    "DEV-09": {"outside"},
    "PAT-01": {"outside"},
    "PAT-02": {"outside"},
    "PAT-03": {"outside"},
    "PAT-04": {"inside"},
    "PAT-05": {"outside"},
    "PAT-06": {"inside"},
    "PAT-07": {"outside"},
    "MGT-01": {"outside", "inside"},
    "MGT-02": {"outside"},
    "MGT-03": {"outside", "inside"},
    "MGT-04": {"inside"},
    "MGT-05": {"outside"},
}


# Controls this machine fails whatever the template, read from the machine itself: no SELinux or
# AppArmor means no MAC label (ESC-04) and every guest under qemu.conf's one user (ESC-07), so
# the escape drill reaches the neighbour's disk and memory (ESC-08);
# without CAP_SYS_RESOURCE libvirt cannot apply a memory limit (ESC-06); a CPU vulnerability the
# kernel leaves open (PAT-03).
HAS_MAC = any(Path(p).exists() for p in ("/sys/fs/selinux", "/sys/kernel/security/apparmor"))
CAP_SYS_RESOURCE = 24
CAN_LIMIT_MEMORY = bool(int(next(line.split()[1] for line in open("/proc/self/status")
                                 if line.startswith("CapEff:")), 16) >> CAP_SYS_RESOURCE & 1)
CPU_VULNERABILITIES = Path("/sys/devices/system/cpu/vulnerabilities")
UNMITIGATED_CPU = sorted(p for p in CPU_VULNERABILITIES.glob("*")
                         if p.read_text().startswith("Vulnerable"))
CPU_VULNERABLE = bool(UNMITIGATED_CPU)
HOST_FAILURES = ((set() if HAS_MAC else {"ESC-04", "ESC-07", "ESC-08"})
                 | (set() if CAN_LIMIT_MEMORY else {"ESC-06"})
                 | ({"PAT-03"} if CPU_VULNERABLE else set()))
# Leaks this lab cannot start a guest with (the matrix's static-only mutations) or that only a
# simulated host shows: leaky lacks them.
NOT_IN_LEAKY = {cid for cid, m in matrix.load().items() if m.kind in ("static", "simulated")}


def expected_status(template, control):
    if control in HOST_FAILURES or (template == "leaky" and control not in NOT_IN_LEAKY):
        return "fail"
    return "pass"
