"""What libvirt says about the host's confinement of QEMU (capabilities XML, domain labels)."""

import re
import xml.etree.ElementTree as ET
from pathlib import Path

MAC_MODELS = ("selinux", "apparmor")
MCS_PAIR = re.compile(r":c\d+,c\d+$")


def security_models(conn):
    """libvirt's security drivers on the host, e.g. ['apparmor', 'dac'] or ['none', 'dac']."""
    caps = ET.fromstring(conn.getCapabilities())
    return [m.text for m in caps.findall("host/secmodel/model")]


def mac_label(domain):
    """The running domain's MAC label and whether it is enforcing ('' when it has none)."""
    for label, enforcing in domain.securityLabelList():
        if label:
            return label, bool(enforcing)
    return "", False


def label_confines(model, label, enforcing):
    """An sVirt label (svirt_t with an MCS pair) or a per-VM AppArmor profile, enforcing."""
    if model == "selinux":
        return enforcing and ":svirt_t:" in label and bool(MCS_PAIR.search(label))
    return enforcing and label.startswith("libvirt-")


CAP_SYS_RESOURCE = 24


def can_raise_resource_limits():
    """Whether this machine's libvirtd (started as root by this runner, or the system's) holds
    CAP_SYS_RESOURCE, which libvirt needs to apply <memtune> limits to QEMU."""
    status = Path("/proc/self/status").read_text()
    cap_eff = int(re.search(r"^CapEff:\s*([0-9a-f]+)", status, re.M).group(1), 16)
    return bool(cap_eff >> CAP_SYS_RESOURCE & 1)
