"""Static analysis of a domain XML: for each control, the findings that break it.

    >>> findings(Domain.from_string(open("templates/leaky.xml").read()))["HV-01"]
    ["machine 'pc' is i440fx, which always has an isa-fdc", 'floppy disk fda']

An empty list means the XML gives the control nothing to object to. The same module names the
QEMU device types (as `info qtree` prints them) that count as each control's attack surface.
"""

import ipaddress
import re

CLIPBOARD_CHANNEL_TYPES = ("spicevmc", "qemu-vdagent")
GUEST_AGENT_PORT = "org.qemu.guest_agent.0"
PARAVIRTUAL_NICS = ("virtio",)
PARAVIRTUAL_DISK_BUSES = ("virtio", "scsi")  # scsi: on a virtio-scsi controller, see below
EMULATED_VIDEO = ("cirrus", "qxl", "vga", "vmvga")
HOST_CPU_MODES = ("host-passthrough", "host-model", "maximum")
CLIPBOARD_PORT = "com.redhat.spice.0"
WEBDAV_PORT = "org.spice-space.webdav.0"

# QEMU device types (info qtree "dev:" names) that are each control's attack surface.
QTREE_SURFACE = {
    "HV-01": re.compile(r"^(isa-fdc|sysbus-fdc|SUNW,fdtwo)$"),
    "HV-02": re.compile(r"(usb|xhci|uhci|ehci|ohci)", re.I),
    "SHR-01": re.compile(r"^(virtio-9p-.*|vhost-user-fs-.*)$"),
    "HV-03": re.compile(r"^(intel-hda|ich9-intel-hda|hda-.*|AC97|ES1370|sb16|gus|cs4231a|adlib"
                        r"|usb-audio)$"),
    "HV-04": re.compile(r"^(e1000|e1000e|rtl8139|pcnet|ne2k_pci|ne2k_isa|i8255.*|vmxnet3"
                        r"|ide-hd|ide-cd|nvme|usb-storage)$"),
    "HV-05": re.compile(r"^(cirrus-vga|isa-cirrus-vga|qxl|qxl-vga|VGA|isa-vga|vmware-svga)$"),
    "HV-06": re.compile(r"^isa-parallel$"),
    "DEV-01": re.compile(r"^usb-redir$"),
    "DEV-02": re.compile(r"^(vfio-.*|pci-assign|kvm-pci-assign|usb-host)$"),
    "SHR-05": re.compile(r"^(vhost-vsock-.*|vhost-user-vsock-.*|virtio-balloon-.*)$"),
}


def floppy(dom):
    """floppy disks and i440fx machine types (built-in isa-fdc)"""
    found = []
    if dom.is_i440fx:
        found.append(f"machine {dom.machine!r} is i440fx, which always has an isa-fdc")
    found += [f"floppy disk {dev}" for dev in dom.floppy_disks]
    return found


def usb(dom):
    """USB controllers (explicit or libvirt's implicit one) and USB devices"""
    models = dom.usb_controller_models
    found = [] if models else ["no <controller type='usb'>: libvirt adds a default USB controller"]
    found += [f"USB controller model {m or '(libvirt default)'}" for m in models if m != "none"]
    return found + [f"USB device: {d}" for d in dom.usb_devices]


def shares(dom):
    """<filesystem> shares (9p, virtiofs) and webdav channels"""
    found = [f"{fs.kind} share of {fs.source or '?'} as tag {fs.tag!r}" for fs in dom.filesystems]
    return found + [f"{ch.kind} channel {ch.target_name}" for ch in dom.channels
                    if ch.target_name == WEBDAV_PORT]


def clipboard(dom):
    """clipboard channels (spicevmc, qemu-vdagent) and SPICE copypaste/file transfer"""
    found = [f"{ch.kind} channel {ch.target_name or '(unnamed)'}"
             + (f" with copypaste={ch.copypaste}" if ch.copypaste else "")
             for ch in dom.channels
             if ch.kind in CLIPBOARD_CHANNEL_TYPES or ch.target_name == CLIPBOARD_PORT]
    found += [f"SPICE graphics with copypaste={setting or 'unset (on)'}"
              for setting in dom.spice_copypaste if setting != "no"]
    return found + [f"SPICE graphics with filetransfer={setting or 'unset (on)'}"
                    for setting in dom.spice_filetransfer if setting != "no"]


def host_filter(dom):
    """interfaces without a traffic filter (<filterref>)"""
    return [f"interface {i + 1} ({iface.get('type')}) has no <filterref>"
            for i, iface in enumerate(dom.interfaces) if not dom.interface_filter(iface)]


def sound(dom):
    """<sound> devices"""
    return [f"sound device {model or '(default)'}" for model in dom.sound_models]


def emulated_nic_and_disk(dom):
    """emulated NIC models and disk buses (anything but virtio / virtio-scsi)"""
    found = [f"interface {i + 1} model {model or 'unset (libvirt picks an emulated NIC)'}"
             for i, model in enumerate(dom.nic_models) if model not in PARAVIRTUAL_NICS]
    for dev, bus in dom.disk_buses:
        if bus == "scsi" and dom.scsi_controller_models != {"virtio-scsi"}:
            found.append(f"disk {dev} on a SCSI controller that is not only virtio-scsi")
        elif bus not in PARAVIRTUAL_DISK_BUSES:
            found.append(f"disk {dev} on emulated bus {bus or '(default)'}")
    return found


def video(dom):
    """legacy or accelerated emulated video (cirrus, qxl, vga, vmvga)"""
    return [f"video model {model}" for model in dom.video_models if model in EMULATED_VIDEO]


def parallel(dom):
    """<parallel> ports"""
    return [f"parallel port ({kind})" for kind in dom.parallel_ports]


def guest_isolation(dom):
    """interfaces without <port isolated='yes'/> (guest-to-guest traffic on the bridge)"""
    return [f"interface {i + 1} ({iface.get('type')}) is not an isolated port"
            for i, iface in enumerate(dom.interfaces) if not dom.interface_isolated(iface)]


def exposed_display(dom):
    """VNC/SPICE displays listening on a non-loopback address (or on every address)"""
    return [f"{kind} display listens on {where}" + ("" if password else " without a password")
            for kind, where, _, password in dom.displays
            if where and where not in ("socket", "none") and not _is_loopback(where)]


def _is_loopback(address):
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


def user_networking(dom):
    """user-mode (slirp) interfaces, whose gateway is the host's own loopback"""
    return [f"interface {i + 1} is user-mode (slirp)"
            for i, iface in enumerate(dom.interfaces) if iface.get("type") == "user"]


def usb_redirection(dom):
    """USB redirection (<redirdev>)"""
    return [f"redirdev {r}" for r in dom.redirdevs]


def guest_agent(dom):
    """QEMU guest agent channels (host-to-guest exec and file access)"""
    return [f"{ch.kind} channel {ch.target_name}" for ch in dom.channels
            if ch.target_name == GUEST_AGENT_PORT]


def nested_virtualization(dom):
    """host CPU models (host-passthrough, host-model) and vmx/svm features exposed to the guest"""
    found = [f"cpu mode {dom.cpu_mode}"] if dom.cpu_mode in HOST_CPU_MODES else []
    return found + [f"cpu feature {f}" for f in dom.nested_virt_features]


def raw_qemu(dom):
    """raw QEMU passthrough (qemu:commandline, qemu:override)"""
    return dom.qemu_passthrough


def disk_format(dom):
    """disks without an explicit <driver type> (format probing)"""
    return [f"disk {dev} has no <driver type>" for dev in dom.disks_without_format]


def host_identity(dom):
    """SMBIOS copied from the host (<smbios mode='host'>)"""
    return ["<smbios mode='host'> copies the host's SMBIOS serials and UUID into the guest"] \
        if dom.smbios_mode == "host" else []


def host_channels(dom):
    """vsock devices and memory balloons (host channels a guest does not need)"""
    found = [f"vsock ({model})" for model in dom.vsock_models]
    if not dom.memballoon_models:
        found.append("no <memballoon>: libvirt adds a default virtio memory balloon")
    return found + [f"memballoon model {model or '(default virtio)'}"
                    for model in dom.memballoon_models if model != "none"]


def host_devices(dom):
    """host devices passed through (<hostdev>, hostdev interfaces)"""
    return dom.host_devices


def resource_limits(dom):
    """guest memory in host core dumps (dumpCore='on') and no memory hard limit"""
    found = ["<memory dumpCore='on'>: guest memory lands in host core dumps"] \
        if dom.dump_core == "on" else []
    return found + ([] if dom.memory_hard_limit else ["no <memtune><hard_limit>"])


STATIC = {"HV-01": floppy, "HV-02": usb, "HV-03": sound, "HV-04": emulated_nic_and_disk,
          "HV-05": video, "HV-06": parallel, "HV-07": nested_virtualization, "HV-08": raw_qemu,
          "ESC-06": resource_limits, "SHR-01": shares, "SHR-02": clipboard,
          "SHR-03": guest_agent, "SHR-04": host_identity, "SHR-05": host_channels,
          "NET-01": host_filter, "NET-04": host_filter, "NET-05": guest_isolation,
          "NET-06": user_networking, "DEV-01": usb_redirection, "DEV-02": host_devices,
          "DEV-03": disk_format, "MGT-01": exposed_display}


def findings(dom):
    return {control: rule(dom) for control, rule in STATIC.items()}


def adapted(template, instantiated):
    """The controls whose static findings differ between the template and the XML the
    throwaway guest was started from: what the guest shows for them was changed by vmiso's own
    adaptations, so it cannot be compared with the template (no drift)."""
    given, booted = findings(template), findings(instantiated)
    return sorted(control for control in STATIC if given[control] != booted[control])


def qtree_surface(control, devices):
    """The QEMU devices in `devices` that are `control`'s attack surface."""
    pattern = QTREE_SURFACE[control]
    return sorted(d for d in devices if pattern.search(d))
