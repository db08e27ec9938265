"""Static analysis of a domain XML: for each control, the findings that break it.

    >>> findings(Domain.from_string(open("templates/leaky.xml").read()))["HV-01"]
    ["machine 'pc' is i440fx, which always has an isa-fdc", 'floppy disk fda']

An empty list means the XML gives the control nothing to object to; a finding whose element the
rule holds (a device's, a raw argument's) is a Finding, which knows it. RULE_READS says what each
rule reads, the text of its evidence. The same module names the QEMU device types (as `info
qtree` prints them) that count as each control's attack surface. catalog/controls.toml names a
control's rule (template_rule) and whether QTREE_SURFACE has it (qtree).
"""

import fnmatch
import functools
import ipaddress
import re

from helpers.template import expansion

CLIPBOARD_CHANNEL_TYPES = ("spicevmc", "qemu-vdagent")
SPICE_AGENT_CHANNEL = "spicevmc"  # SPICE's copy-paste and file transfer reach the guest by it
GUEST_AGENT_PORT = "org.qemu.guest_agent.0"
PARAVIRTUAL_NICS = ("virtio", "virtio-transitional", "virtio-non-transitional", "netfront")
# Interfaces whose guest device is no emulated NIC: a host function, or always virtio.
NON_EMULATED_INTERFACES = ("hostdev", "vdpa", "vhostuser")
PARAVIRTUAL_DISK_BUSES = ("virtio", "scsi", "xen")  # scsi: on a virtio-scsi controller, see below
VIRTIO_SCSI = ("virtio-scsi", "virtio-transitional", "virtio-non-transitional")
EMULATED_VIDEO = ("cirrus", "qxl", "vga", "vmvga")
HOST_CPU_MODES = ("host-passthrough", "host-model", "maximum")
UNMODELLED = "a device vmiso does not model: {}; review it and allowlist its QEMU type"
# QEMU 7.2's x86 CPU models whose definition has svm (query-cpu-model-expansion, measured); the
# default model when the XML names none is qemu64.
SVM_MODELS = re.compile(r"^(qemu64|phenom|Opteron_G[2-5]|EPYC|Dhyana)(-.*)?$")
DEFAULT_CPU_MODEL = "qemu64"
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
                        r"|ide-hd|ide-cd|nvme|usb-storage|lsi53c.*|megasas.*|mptsas1068|pvscsi"
                        r"|am53c974|dc-390|sdhci-pci|pvrdma)$"),
    "HV-05": re.compile(r"^(cirrus-vga|isa-cirrus-vga|qxl|qxl-vga|VGA|isa-vga|secondary-vga"
                        r"|vmware-svga|ati-vga|virtio-vga-gl|virtio-gpu-gl-pci|vhost-user-vga"
                        r"|vhost-user-gpu-pci)$"),
    "HV-06": re.compile(r"^isa-parallel$"),
    "DEV-01": re.compile(r"^usb-redir$"),
    "DEV-02": re.compile(r"^(vfio-.*|pci-assign|kvm-pci-assign|usb-host)$"),
    "SHR-05": re.compile(r"^(vhost-vsock-.*|vhost-user-vsock-.*|virtio-balloon-.*|ivshmem.*)$"),
}


class Finding(str):
    """A finding's text that knows the element it is about (SARIF points there); element None:
    the domain as a whole, such as a device libvirt adds because the XML leaves it out."""

    def __new__(cls, text, element=None):
        finding = super().__new__(cls, text)
        finding.element = element
        return finding


class NotApplicable(Exception):
    """The template's XML does not apply to the control for this kind of guest (a not_applicable
    verdict, never an error: what does apply is another check); the message says what does.
    Apart from helpers.verdict.undecided.Undecided, which is an error: a check that applies but
    could not be decided."""


def emulated(rule):
    """A rule about emulated devices: a Xen PV or PVH guest has none (no device model)."""
    @functools.wraps(rule)
    def judge(dom):
        return [] if dom.is_xen_paravirtual else rule(dom)
    return judge


@emulated
def floppy(dom):
    found = []
    if dom.is_i440fx:
        what = "a Xen HVM guest's device model" if dom.is_xen else f"machine {dom.machine!r}"
        found.append(f"{what} is i440fx, which always has an isa-fdc")
    found += [f"floppy disk {dev}" for dev in dom.floppy_disks]
    return found


def usb(dom):
    models = dom.usb_controller_models
    implicit = not models and not dom.is_xen  # libxl adds no USB controller by itself
    found = ["no <controller type='usb'>: libvirt adds a default USB controller"] \
        if implicit else []
    found += [f"USB controller model {m or '(libvirt default)'}" for m in models if m != "none"]
    return found + [f"USB device: {d}" for d in dom.usb_devices]


def shares(dom):
    found = [f"{fs.kind} share of {fs.source or '?'} as tag {fs.tag!r}" for fs in dom.filesystems]
    return found + [f"{ch.kind} channel {ch.target_name}" for ch in dom.channels
                    if ch.target_name == WEBDAV_PORT]


def clipboard(dom):
    """Clipboard channels; SPICE's copy-paste and file transfer only with its agent's spicevmc
    channel: without one no agent in the guest receives them."""
    channels = [ch for ch in dom.channels
                if ch.kind in CLIPBOARD_CHANNEL_TYPES or ch.target_name == CLIPBOARD_PORT]
    found = [f"{ch.kind} channel {ch.target_name or '(unnamed)'}"
             + (f" with copypaste={ch.copypaste}" if ch.copypaste else "") for ch in channels]
    if not any(ch.kind == SPICE_AGENT_CHANNEL for ch in channels):
        return found
    found += [f"SPICE graphics with copypaste={setting or 'unset (on)'}"
              for setting in dom.spice_copypaste if setting != "no"]
    return found + [f"SPICE graphics with filetransfer={setting or 'unset (on)'}"
                    for setting in dom.spice_filetransfer if setting != "no"]


def host_filter(dom):
    _needs_nwfilter(dom)
    return [f"interface {i + 1} ({iface.get('type')}) has no <filterref>"
            for i, iface in enumerate(dom.interfaces) if not dom.interface_filter(iface)]


@emulated
def sound(dom):
    return [f"sound device {model or '(default)'}" for model in dom.sound_models]


@emulated
def emulated_nic_and_disk(dom):
    found = [f"interface {i + 1} model {model or 'unset (libvirt picks an emulated NIC)'}"
             for i, (iface, model) in enumerate(zip(dom.interfaces, dom.nic_models))
             if iface.get("type") not in NON_EMULATED_INTERFACES
             and model not in PARAVIRTUAL_NICS]
    scsi = dom.scsi_controller_models
    for dev, device, bus in dom.disk_buses:
        if bus == "scsi" and not scsi:
            found.append(f"{device} {dev} on bus scsi: libvirt adds its default SCSI adapter "
                         f"(an emulated LSI)")
        elif bus not in PARAVIRTUAL_DISK_BUSES:
            found.append(f"{device} {dev} on emulated bus {bus or '(default)'}")
    found += [f"SCSI controller model {model or 'unset (libvirt picks an emulated LSI)'}"
              for model in scsi if model not in VIRTIO_SCSI]
    found += [f"NVMe controller {index}" for index in dom.nvme_controllers]
    return found + _raw_arguments(dom, "HV-04")


@emulated
def video(dom):
    models, default = dom.video_models, expansion.default_video_model(dom)
    found = [f"a <graphics> display and no <video>: libvirt adds a {default} video card"] \
        if dom.graphics_types and not models and default in EMULATED_VIDEO else []
    found += [f"video model {model or f'unset (libvirt picks {default})'}" for model in models
              if (model or default) in EMULATED_VIDEO]
    found += [f"video model {model} with {what}" for model, what in dom.video_accelerations]
    return found + _raw_arguments(dom, "HV-05")


def _raw_arguments(dom, control):
    """The raw -device arguments of a QEMU type that is `control`'s surface: the template makes
    them as surely as an element would."""
    return [Finding(device.source, device.element) for device in expansion.raw_devices(dom)
            if QTREE_SURFACE[control].search(device.qemu_type)]


@emulated
def parallel(dom):
    return [f"parallel port ({kind})" for kind in dom.parallel_ports]


def guest_isolation(dom):
    _needs_nwfilter(dom)
    return [f"interface {i + 1} ({iface.get('type')}) is not an isolated port"
            for i, iface in enumerate(dom.interfaces) if not dom.interface_isolated(iface)]


def exposed_display(dom):
    return [f"{kind} display listens on {where}" + ("" if password else " without a password")
            for kind, where, _, password in dom.displays
            if where and where not in ("socket", "none") and not is_loopback(where)]


def _needs_nwfilter(dom):
    if dom.is_xen:
        raise NotApplicable("libxl has no nwfilter nor isolated ports: the vif script and the "
                         "host's firewall decide, which only a live run on the Xen host sees")


def is_loopback(address):
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


def user_networking(dom):
    return [f"interface {i + 1} is user-mode (slirp)"
            for i, iface in enumerate(dom.interfaces) if iface.get("type") == "user"]


def usb_redirection(dom):
    return [f"redirdev {r}" for r in dom.redirdevs]


def guest_agent(dom):
    return [f"{ch.kind} channel {ch.target_name}" for ch in dom.channels
            if ch.target_name == GUEST_AGENT_PORT]


def nested_virtualization(dom):
    return _cpu_model_findings(dom) + [f"cpu feature {f}" for f in dom.nested_virt_features]


def _cpu_model_findings(dom):
    if dom.cpu_mode in HOST_CPU_MODES:
        return [f"cpu mode {dom.cpu_mode}"]
    if dom.cpu_match == "minimum" and not {"vmx", "svm"} <= dom.disabled_cpu_features:
        return ["cpu match='minimum': libvirt starts from the host's CPU model, vmx/svm included "
                "unless both are disabled"]
    if dom.is_xen:  # libxl exposes vmx/svm only with nestedhvm, which reads as the above
        return []
    model = dom.cpu_model or DEFAULT_CPU_MODEL
    if SVM_MODELS.match(model) and "svm" not in dom.disabled_cpu_features:
        named = f"cpu model {model}" if dom.cpu_model else f"no CPU model: QEMU's default {model}"
        return [f"{named} has svm (no <feature policy='disable' name='svm'/>)"]
    return []


def raw_qemu(dom):
    return dom.qemu_passthrough


def disk_format(dom):
    return [f"disk {dev} has no <driver type>" for dev in dom.disks_without_format]


def host_resource_limits(dom):
    found = [f"disk {dev} has no <iotune> limit" for dev in dom.writable_disks_without_iotune]
    quotas = dom.cpu_quotas
    if not ("global_quota" in quotas or {"quota", "emulator_quota"} <= set(quotas)
            or dom.cpu_shares):
        found.append("no <cputune> global_quota, no quota with emulator_quota, no shares: "
                     "the guest may take every host CPU it has vCPUs for")
    return found


def host_identity(dom):
    return ["<smbios mode='host'> copies the host's SMBIOS serials and UUID into the guest"] \
        if dom.smbios_mode == "host" else []


def host_channels(dom):
    found = [f"vsock ({model})" for model in dom.vsock_models]
    found += [f"shmem {name} (ivshmem: memory shared outside the guest)"
              for name in dom.shared_memory]
    if not dom.memballoon_models and not dom.is_xen:  # libxl adds no virtio balloon
        found.append("no <memballoon>: libvirt adds a default virtio memory balloon")
    return found + [f"memballoon model {model or '(default virtio)'}"
                    for model in dom.memballoon_models if model not in ("none", "xen")]


def host_devices(dom):
    return dom.host_devices


def unlisted_devices(dom, allowed):
    """The device types not on the allowlist, each from the first element that makes it, then
    each device vmiso does not model."""
    devices, first = expansion.qemu_devices(dom), {}
    for device in devices:
        if device.qemu_type is not None and not is_allowed(device.qemu_type, allowed):
            first.setdefault(device.qemu_type, device)
    found = [Finding(f"{qemu_type} (from {device.source})", device.element)
             for qemu_type, device in sorted(first.items())]
    return found + [Finding(UNMODELLED.format(device.source), device.element)
                    for device in devices if device.qemu_type is None]


def is_allowed(qemu_type, allowed):
    """Whether a QEMU device type is on the allowlist (names or shell-style patterns)."""
    return any(fnmatch.fnmatchcase(qemu_type, pattern) for pattern in allowed)


def resource_limits(dom):
    found = ["<memory dumpCore='on'>: guest memory lands in host core dumps"] \
        if dom.dump_core == "on" else []
    return found + ([] if dom.memory_hard_limit else ["no <memtune><hard_limit>"])


def disks_left_to_qemu(dom):
    return [f"{what} {path}: handed to QEMU's user at start, never given back"
            for what, path in dom.disks_never_given_back]


STATIC = {"HV-01": floppy, "HV-02": usb, "HV-03": sound, "HV-04": emulated_nic_and_disk,
          "HV-05": video, "HV-06": parallel, "HV-07": nested_virtualization, "HV-08": raw_qemu,
          "ESC-06": resource_limits, "ESC-09": disks_left_to_qemu, "SHR-01": shares,
          "SHR-02": clipboard, "SHR-03": guest_agent, "SHR-04": host_identity,
          "SHR-05": host_channels, "NET-01": host_filter, "NET-04": host_filter,
          "NET-05": guest_isolation, "NET-06": user_networking, "DEV-01": usb_redirection,
          "DEV-02": host_devices, "DEV-03": disk_format, "DEV-07": host_resource_limits,
          "MGT-01": exposed_display}


# Controls whose rule needs the policy's device allowlist besides the XML.
WITH_ALLOWLIST = {"HV-09": unlisted_devices}
XML_CONTROLS = {**STATIC, **WITH_ALLOWLIST}
# What each rule reads, by rule name: the evidence of its template check ("template: <reads>"),
# data rather than a docstring so that `python -OO` keeps it.
RULE_READS = {
    "floppy": "floppy disks and i440fx machine types (built-in isa-fdc)",
    "usb": "USB controllers (explicit or libvirt's implicit one) and USB devices",
    "sound": "<sound> devices",
    "emulated_nic_and_disk": "emulated NIC models, disk buses, SCSI host adapters and NVMe "
                             "controllers (anything but virtio / virtio-scsi; xen under Xen), "
                             "and raw QEMU -device arguments of those devices",
    "video": "legacy or accelerated emulated video (cirrus, qxl, vga, vmvga, virgl, vhost-user "
             "GPU), the card libvirt adds for a display without a video model (cirrus on x86), "
             "and raw QEMU -device arguments of such cards",
    "parallel": "<parallel> ports",
    "nested_virtualization": "host CPU models (host-passthrough, host-model, match='minimum'), CPU "
                             "models with svm left on (QEMU's default qemu64 among them) and "
                             "vmx/svm features exposed to the guest",
    "raw_qemu": "raw QEMU passthrough (qemu:commandline, qemu:override)",
    "resource_limits": "guest memory in host core dumps (dumpCore='on') and no memory hard limit",
    "disks_left_to_qemu": "read-only or shareable disks libvirt relabels and never gives back (no "
                          "<source><seclabel model='dac' relabel='no'/>)",
    "shares": "<filesystem> shares (9p, virtiofs) and webdav channels",
    "clipboard": "clipboard channels (spicevmc, qemu-vdagent) and, with SPICE's agent channel, "
                 "SPICE copypaste/file transfer",
    "guest_agent": "QEMU guest agent channels (host-to-guest exec and file access)",
    "host_identity": "SMBIOS copied from the host (<smbios mode='host'>)",
    "host_channels": "vsock devices, shared memory and memory balloons (host channels a guest "
                     "does not need; Xen's own balloon driver is not one)",
    "host_filter": "interfaces without a traffic filter (<filterref>)",
    "guest_isolation": "interfaces without <port isolated='yes'/> (guest-to-guest traffic on the "
                       "bridge)",
    "user_networking": "user-mode (slirp) interfaces, whose gateway is the host's own loopback",
    "usb_redirection": "USB redirection (<redirdev>)",
    "host_devices": "host devices passed through (<hostdev>, hostdev interfaces)",
    "disk_format": "disks without an explicit <driver type> (format probing)",
    "host_resource_limits": "writable disks without an I/O limit (<iotune>), CPU without a cap or "
                            "weight (<cputune>)",
    "exposed_display": "VNC/SPICE displays listening on a non-loopback address (or on every "
                       "address)",
    "unlisted_devices": "QEMU devices the template makes (the chipset's and libvirt's implicit "
                        "ones included) that are not on the policy's allowlist, and devices "
                        "vmiso does not model",
}


def judge(control, dom, allowed):
    """One control's findings on the XML; raises NotApplicable where the XML cannot decide it."""
    if control in WITH_ALLOWLIST:
        return WITH_ALLOWLIST[control](dom, allowed)
    return STATIC[control](dom)


def template_check(control, dom, allowed):
    """(what the template check looked at, its findings) for the evidence, as the suite and the
    static run record it; NotApplicable, saying so, where the XML cannot decide the control."""
    reads = RULE_READS[XML_CONTROLS[control].__name__]
    try:
        return f"template: {reads}", judge(control, dom, allowed)
    except NotApplicable as why:
        raise NotApplicable(f"the template cannot decide {control}: {why}") from None


def findings(dom, allowed=None):
    """Every XML-decided control's findings (None where the XML cannot decide it); HV-09 only
    when an allowlist is given."""
    controls = list(STATIC) + (list(WITH_ALLOWLIST) if allowed is not None else [])
    result = {}
    for control in controls:
        try:
            result[control] = judge(control, dom, allowed)
        except NotApplicable:
            result[control] = None
    return result


def adapted(template, instantiated):
    """The controls whose static findings differ between the template and the XML the
    throwaway guest was started from (for HV-09: the QEMU devices it makes): what the guest
    shows for them was changed by vmiso's own adaptations, so it cannot be compared with the
    template (no drift)."""
    given, booted = findings(template), findings(instantiated)
    changed = [control for control in STATIC if given[control] != booted[control]]
    if _device_types(template) != _device_types(instantiated):
        changed.append("HV-09")
    return sorted(changed)


def _device_types(dom):
    return {device.qemu_type for device in expansion.qemu_devices(dom)}


def qtree_surface(control, devices):
    """The QEMU devices in `devices` that are `control`'s attack surface."""
    pattern = QTREE_SURFACE[control]
    return sorted(d for d in devices if pattern.search(d))
