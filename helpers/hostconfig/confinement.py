"""What libvirt says about the host's confinement of QEMU (capabilities XML, domain labels)."""

import re
import xml.etree.ElementTree as ET

MAC_MODELS = ("selinux", "apparmor")
MCS_PAIR = re.compile(r":c\d+,c\d+$")


def security_models(conn):
    """libvirt's security drivers on the host, e.g. ['apparmor', 'dac'] or ['none', 'dac']."""
    caps = ET.fromstring(conn.getCapabilities())
    return [m.text for m in caps.findall("host/secmodel/model")]


def mac_models(conn):
    """The MAC drivers among them (selinux, apparmor): [] on a host with DAC alone."""
    return [m for m in security_models(conn) if m in MAC_MODELS]


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


def can_raise_resource_limits(hypervisor, daemon_pid):
    """Whether libvirtd on the hypervisor's host holds CAP_SYS_RESOURCE, which libvirt needs to
    apply <memtune> limits to QEMU (read from the daemon, else from the SSH session's own
    process when the daemon was not found)."""
    status = hypervisor.read_text(f"/proc/{daemon_pid or 'self'}/status")
    cap_eff = int(re.search(r"^CapEff:\s*([0-9a-f]+)", status, re.M).group(1), 16)
    return bool(cap_eff >> CAP_SYS_RESOURCE & 1)


def dac_base_label(conn):
    """libvirt's DAC label for every guest that sets none of its own, as its capabilities give
    it (`<baselabel type='kvm'>+64055:+64055</baselabel>`); '' without a DAC driver."""
    caps = ET.fromstring(conn.getCapabilities())
    labels = [m.findtext("baselabel", "") for m in caps.findall("host/secmodel")
              if m.findtext("model") == "dac"]
    return labels[0] if labels else ""


def dac_ids(label):
    """(uid, gid) of a DAC label ('+64055:+64055'); (0, 0) for none: libvirt runs QEMU as root.

    >>> dac_ids("+64055:+994"), dac_ids("")
    ((64055, 994), (0, 0))
    """
    uid, _, gid = label.partition(":")
    return int(uid.lstrip("+") or 0), int(gid.lstrip("+") or 0)


def qemu_group(conn, hypervisor):
    """The group QEMU runs in on the hypervisor's host, from libvirt's DAC base label, by name
    where the host has one: 'libvirt-qemu' on Debian. Without a DAC label libvirt runs QEMU as
    root."""
    gid = str(dac_ids(dac_base_label(conn))[1])
    entry = hypervisor.host.run("getent group %s", gid)
    return entry.stdout.split(":", 1)[0] if entry.rc == 0 else gid
