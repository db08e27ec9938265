"""The QEMU devices libvirt (9.0, x86, QEMU driver) creates for a domain XML, implicit ones
included: the machine's own chipset, the USB controller and memory balloon it adds unless told
not to, the video card a display gets, the controllers a disk or channel needs. Each comes with
the element that makes it (a SARIF result points there).

    >>> dom = Domain.from_string(open("templates/hardened.xml").read())
    >>> [d.qemu_type for d in qemu_devices(dom) if d.source != CHIPSET]
    ['virtio-blk-pci', 'virtio-net-pci', 'isa-serial']

Device types are QEMU's (`info qtree` "dev:" names). A property test (tests/selftest/
test_static_agreement.py) holds this model to the command lines the lab's libvirtd writes.
Elements a newer libvirt knows are modelled as it makes them (<crypto>: libvirt 9.1, NVMe disks
and controllers: 11.5). An element, or a kind of one, that makes a device this model does not
know is a Device of type None, which HV-09 names, never left out; NO_DEVICE names the <devices>
elements that make none, and tests/selftest/test_libvirt_schema.py holds both to libvirt's
schema.
"""

import json
import re
from dataclasses import dataclass

# The devices QEMU's machine types create by themselves (info qtree of `-machine X -nodefaults`,
# QEMU 7.2), TCG and KVM forms; cfi.pflash01 is the UEFI firmware's flash.
Q35_CHIPSET = ("ICH9-LPC", "ICH9-SMB", "fw_cfg_io", "hpet", "i8042", "i8257", "ich9-ahci",
               "ioapic", "isa-i8259", "isa-pcspk", "isa-pit", "kvmvapic", "mc146818rtc", "mch",
               "port92", "ps2-kbd", "ps2-mouse", "q35-pcihost", "smbus-eeprom", "vmmouse",
               "vmport")
I440FX_CHIPSET = ("PIIX3", "PIIX4_PM", "fw_cfg_io", "hpet", "i440FX", "i440FX-pcihost", "i8042",
                  "i8257", "ioapic", "isa-fdc", "isa-i8259", "isa-pcspk", "isa-pit", "kvmvapic",
                  "mc146818rtc", "piix3-ide", "port92", "ps2-kbd", "ps2-mouse", "smbus-eeprom",
                  "vmmouse", "vmport")
XEN_HVM_CHIPSET = I440FX_CHIPSET + ("xen-platform",)
UEFI_FLASH = "cfi.pflash01"
CHIPSET = "the machine's chipset (os type)"
# The <devices> elements that make no QEMU device of their own.
NO_DEVICE = {
    "emulator": "the path of the QEMU binary",
    "graphics": "a display backend; the video card a display implies is <video>'s",
    "audio": "a host audio backend of the <sound> devices",
    "lease": "a lock manager's lease on a disk",
    "redirfilter": "the filter of <redirdev> USB redirection",
}
UNKNOWN = None  # the type of a device vmiso does not model
# In the tables below, a value None: the element makes no device of its own.

USB_CONTROLLERS = {"piix3-uhci": "piix3-usb-uhci", "piix4-uhci": "piix4-usb-uhci",
                   "ehci": "usb-ehci", "ich9-ehci1": "ich9-usb-ehci1",
                   "ich9-uhci1": "ich9-usb-uhci1", "ich9-uhci2": "ich9-usb-uhci2",
                   "ich9-uhci3": "ich9-usb-uhci3", "vt82c686b-uhci": "vt82c686b-usb-uhci",
                   "pci-ohci": "pci-ohci", "nec-xhci": "nec-usb-xhci", "qemu-xhci": "qemu-xhci"}
# Ports of each USB controller (libvirt's count): beyond them libvirt adds a USB hub.
USB_PORTS = {"piix3-usb-uhci": 2, "piix4-usb-uhci": 2, "ich9-usb-uhci1": 2, "ich9-usb-uhci2": 2,
             "ich9-usb-uhci3": 2, "vt82c686b-usb-uhci": 2, "usb-ehci": 6, "ich9-usb-ehci1": 6,
             "pci-ohci": 3, "nec-usb-xhci": 4, "qemu-xhci": 4}
SCSI_CONTROLLERS = {"": "lsi53c895a", "auto": "lsi53c895a", "lsilogic": "lsi53c895a",
                    "lsisas1068": "mptsas1068", "lsisas1078": "megasas", "vmpvscsi": "pvscsi",
                    "virtio-scsi": "virtio-scsi-pci", "am53c974": "am53c974", "dc390": "dc-390",
                    "virtio-transitional": "virtio-scsi-pci-transitional",
                    "virtio-non-transitional": "virtio-scsi-pci-non-transitional"}
NICS = {"": "rtl8139", "virtio": "virtio-net-pci",
        "virtio-transitional": "virtio-net-pci-transitional",
        "virtio-non-transitional": "virtio-net-pci-non-transitional", "e1000": "e1000",
        "e1000e": "e1000e", "rtl8139": "rtl8139", "ne2k_pci": "ne2k_pci", "pcnet": "pcnet",
        "vmxnet3": "vmxnet3"}
# (primary, secondary) device of each video model
VIDEO = {"cirrus": ("cirrus-vga", "cirrus-vga"), "vga": ("VGA", "VGA"), "qxl": ("qxl-vga", "qxl"),
         "vmvga": ("vmware-svga",) * 2, "virtio": ("virtio-vga", "virtio-gpu-pci"),
         "bochs": ("bochs-display",) * 2, "ramfb": ("ramfb", "ramfb")}
VIDEO_GL = {"virtio": ("virtio-vga-gl", "virtio-gpu-gl-pci")}
VIDEO_VHOST_USER = {"virtio": ("vhost-user-vga", "vhost-user-gpu-pci")}
# The model libvirt gives a <video> without one (qemuDomainDefaultVideoDevice): VGA on ppc64,
# virtio on s390 and on the 'virt' machines of ARM and RISC-V, cirrus elsewhere.
VIRT_MACHINE = re.compile(r"^virt(-.*)?$")
VIRT_VIDEO_ARCHES = ("aarch64", "arm", "riscv")
SOUND = {"ich6": ("intel-hda", "hda-duplex"), "ich7": ("intel-hda", "hda-duplex"),
         "ich9": ("ich9-intel-hda", "hda-duplex"), "ac97": ("AC97",), "es1370": ("ES1370",),
         "sb16": ("sb16",), "usb": ("usb-audio",),
         "pcspk": ()}  # the chipset's isa-pcspk, given an audio backend
HDA_CODECS = {"duplex": "hda-duplex", "micro": "hda-micro", "output": "hda-output"}
# (type, bus) of an input: its device; the PS/2 ones are the chipset's, the xen ones Xen's PV
# inputs, and evdev passes a host device in through an -object input-linux.
INPUTS = {("tablet", "usb"): "usb-tablet", ("mouse", "usb"): "usb-mouse",
          ("keyboard", "usb"): "usb-kbd", ("tablet", "virtio"): "virtio-tablet-pci",
          ("mouse", "virtio"): "virtio-mouse-pci", ("keyboard", "virtio"): "virtio-keyboard-pci",
          ("passthrough", "virtio"): "virtio-input-host-pci", ("mouse", "ps2"): None,
          ("keyboard", "ps2"): None, ("mouse", "xen"): None, ("keyboard", "xen"): None,
          ("evdev", ""): None}
DEFAULT_INPUT_BUS = {"tablet": "usb", "passthrough": "virtio", "evdev": ""}  # else ps2
DISKS = {("virtio", "disk"): "virtio-blk-pci", ("virtio", "lun"): "virtio-blk-pci",
         ("virtio", "cdrom"): "virtio-blk-pci",
         ("ide", "disk"): "ide-hd", ("ide", "cdrom"): "ide-cd", ("sata", "disk"): "ide-hd",
         ("sata", "cdrom"): "ide-cd", ("scsi", "disk"): "scsi-hd", ("scsi", "cdrom"): "scsi-cd",
         ("scsi", "lun"): "scsi-block", ("usb", "disk"): "usb-storage",
         ("usb", "cdrom"): "usb-storage",
         ("nvme", "disk"): "nvme-ns"}  # a namespace of an nvme controller (libvirt 11.5)
VHOST_USER_DISK = "vhost-user-blk-pci"  # a virtio disk of type vhostuser
NO_DEVICE_DISK_BUSES = ("xen",)  # a Xen PV disk: the guest's own driver, no emulated device
HOSTDEVS = {"pci": "vfio-pci", "usb": "usb-host", "scsi": "scsi-generic",
            "scsi_host": "vhost-scsi-pci"}  # mdev: its model is the QEMU type (vfio-pci)
SIMPLE = {"rng": "virtio-rng-pci", "vsock": "vhost-vsock-pci", "redirdev": "usb-redir",
          "hub": "usb-hub", "parallel": "isa-parallel",
          "crypto": "virtio-crypto-pci"}  # libvirt 9.1, backend builtin or lkcf alike
# The virtio models of an element's model attribute: the QEMU type's suffix.
TRANSITIONAL = {"virtio-transitional": "-transitional",
                "virtio-non-transitional": "-non-transitional"}
BALLOONS = {"virtio": "virtio-balloon-pci",
            "virtio-transitional": "virtio-balloon-pci-transitional",
            "virtio-non-transitional": "virtio-balloon-pci-non-transitional",
            "none": None, "xen": None}  # xen: Xen's own balloon driver
WATCHDOGS = {"i6300esb": "i6300esb", "ib700": "ib700"}
PANIC = {"": "pvpanic", "isa": "pvpanic", "pci": "pvpanic-pci",  # '': libvirt's x86 default
         "hyperv": None}  # Hyper-V's crash MSRs, a CPU feature
SMARTCARDS = {"host": "ccid-card-emulated", "host-certificates": "ccid-card-emulated",
              "passthrough": "ccid-card-passthru"}
SHMEM = {"": "ivshmem-plain", "ivshmem-plain": "ivshmem-plain",
         "ivshmem-doorbell": "ivshmem-doorbell", "ivshmem": "ivshmem-plain"}
SERIAL_TARGETS = {"": "isa-serial", "isa-serial": "isa-serial", "pci-serial": "pci-serial",
                  "usb-serial": "usb-serial", "isa-debug": "isa-debugcon"}  # <model name> wins
MEMORY = {"dimm": "pc-dimm", "nvdimm": "nvdimm", "virtio-pmem": "virtio-pmem-pci",
          "virtio-mem": "virtio-mem-pci", "sgx-epc": "sgx-epc"}
IOMMUS = {"intel": "intel-iommu", "virtio": "virtio-iommu-pci"}
# Elements that are a device each, of the type their model attribute gives.
BY_MODEL = {"watchdog": WATCHDOGS, "panic": PANIC, "memory": MEMORY, "iommu": IOMMUS}
# The device of each PCI controller model (qemuDomainPCIControllerSetDefaultModelName; a
# <model name> overrides it); the roots are the machine's own.
PCI_CONTROLLERS = {"pci-root": None, "pcie-root": None, "pci-bridge": "pci-bridge",
                   "dmi-to-pci-bridge": "i82801b11-bridge",
                   "pcie-to-pci-bridge": "pcie-pci-bridge", "pcie-root-port": "pcie-root-port",
                   "pcie-switch-upstream-port": "x3130-upstream",
                   "pcie-switch-downstream-port": "xio3130-downstream",
                   "pci-expander-bus": "pxb", "pcie-expander-bus": "pxb-pcie"}
# Controller types that make no device: IDE and FDC are the chipset's own (libvirt refuses an
# IDE controller on q35; a floppy disk brings its isa-fdc), xenbus is Xen's PV bus, isa bhyve's.
NO_DEVICE_CONTROLLERS = ("ide", "fdc", "xenbus", "isa")
# The controller types the readers model (ccid: _smartcards, with the cards on its bus).
CONTROLLER_TYPES = ("usb", "scsi", "sata", "virtio-serial", "nvme", "pci", "ccid")
CHANNEL_TARGETS = {"virtio": "virtserialport", "guestfwd": None, "xen": None}
# The <devices> elements the readers read; any other NO_DEVICE does not name is unknown.
MODELLED = ("disk", "controller", "interface", "video", "sound", "input", "memballoon",
            "serial", "console", "channel", "filesystem", "hostdev", *SIMPLE, *BY_MODEL, "shmem",
            "smartcard", "tpm")


@dataclass(frozen=True)
class Device:
    qemu_type: str  # UNKNOWN (None): a device vmiso does not model
    source: str  # the XML that makes it, in a few words
    element: object = None  # the element that makes it; None: no element, the domain as a whole


def qemu_devices(dom):
    """Every QEMU device the domain gets; a Xen PV or PVH guest has no device model (none)."""
    if dom.is_xen_paravirtual:
        return []
    machine = dom.root.find("os/type")
    found = [Device(t, CHIPSET, machine) for t in chipset(dom)]
    for reader in (_disks, _controllers, _interfaces, _video, _sound, _inputs, _balloon,
                   _serials, _channels, _filesystems, _hostdevs, _simple, _by_model, _shmem,
                   _smartcards, _tpm, _outside_devices, raw_devices, _unknown_elements):
        found += reader(dom)
    return found + _usb_hub(found)


def _unknown_elements(dom):
    """The <devices> elements no reader reads and NO_DEVICE does not name."""
    return [unknown(e) for e in dom.root.findall("devices/*")
            if e.tag not in MODELLED and e.tag not in NO_DEVICE and not e.tag.startswith("{")]


def unknown(element):
    return Device(UNKNOWN, describe(element), element)


def _one(element, table, key, source):
    """The device `table` gives `key` for the element ([] where it gives None), or the element
    as unknown where the table lacks the key."""
    if key not in table:
        return [unknown(element)]
    return [] if table[key] is None else [Device(table[key], source, element)]


def describe(element):
    """An element as its start tag: <memory model='dimm'>."""
    attributes = "".join(f" {k}='{v}'" for k, v in element.attrib.items())
    return f"<{element.tag}{attributes}>"


def _usb_hub(devices):
    """The hub libvirt adds when the USB devices outnumber the controller's ports."""
    ports = sum(USB_PORTS.get(d.qemu_type, 0) for d in devices)
    on_usb = [d for d in devices if (d.qemu_type or "").startswith("usb-")
              and d.qemu_type not in USB_PORTS]
    return [Device("usb-hub", "more USB devices than ports")] if ports and len(on_usb) > ports \
        else []


def chipset(dom):
    if dom.is_xen:
        base = XEN_HVM_CHIPSET
    else:
        base = I440FX_CHIPSET if dom.is_i440fx else Q35_CHIPSET
    return base + ((UEFI_FLASH,) if dom.uses_uefi else ())


def _devices(dom, tag):
    return dom.root.findall(f"devices/{tag}")


def _disks_on(dom, bus):
    return [d for d in _devices(dom, "disk") for t in d.findall("target")
            if dom.disk_bus(t) == bus]


def _virtio(element, qemu_type):
    """A virtio device's type as the element's model attribute (virtio-transitional ...) has it."""
    return qemu_type + TRANSITIONAL.get(element.get("model", ""), "")


def _disks(dom):
    found = [device for disk in _devices(dom, "disk") for device in _disk(dom, disk)]
    floppies = [d.element for d in found if d.qemu_type == "floppy"]
    if floppies and not dom.is_i440fx:
        found.append(Device("isa-fdc", "a floppy disk on a machine without a built-in one",
                            floppies[0]))
    return found


def _disk(dom, disk):
    """The device of one <disk> (none for a Xen PV disk)."""
    target = disk.find("target")
    device = disk.get("device", "disk")
    if target is None:
        return [unknown(disk)]
    if device == "floppy":
        return [Device("floppy", f"floppy disk {target.get('dev')}", disk)]
    bus = dom.disk_bus(target)
    if bus in NO_DEVICE_DISK_BUSES:
        return []
    kind = VHOST_USER_DISK if disk.get("type") == "vhostuser" else DISKS.get((bus, device))
    if kind is None:
        return [unknown(disk)]
    kind = _virtio(disk, kind) if bus == "virtio" else kind
    return [Device(kind, f"{device} {target.get('dev')} on bus {bus}", disk)]


def _controllers(dom):
    found = _usb_controllers(dom) + _scsi_controllers(dom) + _sata_controller(dom)
    found += _virtio_serial(dom) + _nvme_controllers(dom)
    for controller in _devices(dom, "controller"):
        kind = controller.get("type")
        if kind == "pci":
            found += _pci_controller(controller)
        elif kind not in CONTROLLER_TYPES and kind not in NO_DEVICE_CONTROLLERS:
            found.append(unknown(controller))
    return found


def _usb_controllers(dom):
    usb = _devices(dom, "controller[@type='usb']")
    default = "piix3-usb-uhci" if dom.is_i440fx else "qemu-xhci"
    if not usb and not dom.is_xen:
        return [Device(default, "USB controller (libvirt default)")]
    return [Device(USB_CONTROLLERS.get(model, model or default),
                   f"USB controller {model or '(libvirt default)'}", c)
            for c in usb for model in [c.get("model", "")] if model != "none"]


def _scsi_controllers(dom):
    scsi = _devices(dom, "controller[@type='scsi']")
    users = _disks_on(dom, "scsi") + _devices(dom, "hostdev[@type='scsi']")
    if not scsi and users:  # libvirt's default, for the first disk or host device on SCSI
        return [Device(SCSI_CONTROLLERS[""], "SCSI controller (libvirt default)", users[0])]
    return [Device(SCSI_CONTROLLERS.get(model, model),
                   f"SCSI controller {model or '(libvirt default)'}", c)
            for c in scsi for model in [c.get("model", "")]]


def _sata_controller(dom):
    """The AHCI controller a SATA disk needs on i440fx (q35 has its own)."""
    sata = _devices(dom, "controller[@type='sata']") + _disks_on(dom, "sata")
    return [Device("ich9-ahci", "SATA controller", sata[0])] if sata and dom.is_i440fx else []


def _virtio_serial(dom):
    serial = _devices(dom, "controller[@type='virtio-serial']")
    users = [c for tag in ("channel", "console") for c in _devices(dom, tag)
             if c.find("target[@type='virtio']") is not None]
    if not serial and users:
        return [Device("virtio-serial-pci", "virtio-serial controller", users[0])]
    return [Device(_virtio(c, "virtio-serial-pci"), "virtio-serial controller", c)
            for c in serial]


def _nvme_controllers(dom):
    """An nvme controller per <controller type='nvme'>, else one for the NVMe disks."""
    nvme, disks = _devices(dom, "controller[@type='nvme']"), _disks_on(dom, "nvme")
    if not nvme and disks:
        return [Device("nvme", "NVMe controller (libvirt default)", disks[0])]
    return [Device("nvme", "NVMe controller", c) for c in nvme]


def _pci_controller(controller):
    """The device of a PCI controller: its <model name>, else its model's."""
    model, name = controller.get("model", ""), controller.find("model")
    if model in PCI_CONTROLLERS and name is not None and name.get("name"):
        return [Device(name.get("name"), f"PCI controller {model}", controller)]
    return _one(controller, PCI_CONTROLLERS, model, f"PCI controller {model}")


def _interfaces(dom):
    found = []
    for iface, model in zip(dom.interfaces, dom.nic_models):
        kind = iface.get("type")
        if kind == "hostdev":
            found.append(Device("vfio-pci", "interface type hostdev", iface))
        elif kind in ("vhostuser", "vdpa"):
            found.append(Device("virtio-net-pci", f"interface type {kind}", iface))
        else:
            found.append(Device(NICS.get(model, model), f"interface model {model or '(default)'}",
                                iface))
    return found


def default_video_model(dom):
    """The model libvirt gives a <video> without one, and the video a display without any."""
    arch = dom.arch
    if arch.startswith("ppc64"):
        return "vga"
    if arch.startswith("s390") or (arch.startswith(VIRT_VIDEO_ARCHES)
                                   and VIRT_MACHINE.match(dom.machine)):
        return "virtio"
    return "cirrus"


def _video(dom):
    videos, default = dom.videos, default_video_model(dom)
    graphics = _devices(dom, "graphics")
    if not videos and graphics and not dom.is_xen_paravirtual:
        return [Device(VIDEO[default][0], "a <graphics> without <video>", graphics[0])]
    found = []
    for index, (video, element) in enumerate(zip(videos, _devices(dom, "video"))):
        if video.model == "none":
            continue
        model = video.model or default
        table = VIDEO_VHOST_USER if video.vhost_user else VIDEO_GL if video.virgl else VIDEO
        pair = table.get(model, (model, model))
        found.append(Device(pair[0 if index == 0 else 1],
                            f"video model {video.model or '(default)'}", element))
    return found


def _sound(dom):
    found = []
    for sound in _devices(dom, "sound"):
        model = sound.get("model", "")
        if model not in SOUND:
            found.append(unknown(sound))
            continue
        types = SOUND[model]
        codecs = [HDA_CODECS.get(c.get("type", ""), "") for c in sound.findall("codec")]
        if len(types) == 2 and codecs:
            types = types[:1] + tuple(codecs)
        found += [Device(t, f"sound model {model}", sound) for t in types]
    return found


def _inputs(dom):
    found = []
    for item in _devices(dom, "input"):
        kind = item.get("type", "")
        bus = item.get("bus") or DEFAULT_INPUT_BUS.get(kind, "ps2")
        table = {key: qemu_type and _virtio(item, qemu_type) for key, qemu_type in INPUTS.items()}
        found += _one(item, table, (kind, bus), f"input {kind} on bus {bus}")
    return found


def _balloon(dom):
    balloons = _devices(dom, "memballoon")
    if not balloons and not dom.is_xen:
        return [Device("virtio-balloon-pci", "memballoon (libvirt default)")]
    return [device for balloon in balloons for model in [balloon.get("model", "")]
            for device in _one(balloon, BALLOONS, model, f"memballoon {model}")]


def _serials(dom):
    found = []
    serials = _devices(dom, "serial")
    for serial in serials:
        target = serial.find("target")
        kind = "" if target is None else target.get("type", "")
        model = None if target is None else target.find("model")
        qemu_type = SERIAL_TARGETS.get(kind) if model is None else model.get("name")
        found.append(Device(qemu_type, f"serial port ({kind or 'isa'})", serial) if qemu_type
                     else unknown(serial))
    return found + [device for index, console in enumerate(_devices(dom, "console"))
                    for device in _console(console, index == 0 and not serials)]


def _console(console, first_without_serial):
    """The device of a <console>: virtio's own port; the first console, where no <serial> is,
    becomes serial port 0 (libvirt's compatibility); else the serial port or Xen's console."""
    target = console.find("target")
    kind = "" if target is None else target.get("type", "serial")
    if kind == "virtio":
        return [Device("virtconsole", "virtio console", console)]
    if kind in ("serial", "") and first_without_serial:
        return [Device("isa-serial", "a console without a serial port", console)]
    return [] if kind in ("serial", "", "xen") else [unknown(console)]


def _channels(dom):
    found = []
    for channel in _devices(dom, "channel"):
        target = channel.find("target")
        kind, name = (None, "") if target is None else (target.get("type"), target.get("name", ""))
        found += _one(channel, CHANNEL_TARGETS, kind, f"channel {name}")
    return found


def _filesystems(dom):
    return [Device("vhost-user-fs-pci" if fs.kind == "virtiofs" else
                   _virtio(element, "virtio-9p-pci"), f"filesystem {fs.kind} {fs.tag}", element)
            for fs, element in zip(dom.filesystems, _devices(dom, "filesystem"))]


def _hostdevs(dom):
    return [_hostdev(hostdev) for hostdev in _devices(dom, "hostdev")]


def _hostdev(hostdev):
    kind = hostdev.get("type", "")
    qemu_type = hostdev.get("model") if kind == "mdev" else HOSTDEVS.get(kind)
    if hostdev.get("mode", "subsystem") != "subsystem" or not qemu_type:
        return unknown(hostdev)
    if kind == "scsi_host":
        qemu_type = _virtio(hostdev, qemu_type)
    if hostdev.get("ramfb") == "on":
        qemu_type = "vfio-pci-nohotplug"  # an mdev whose display boots on a ramfb
    return Device(qemu_type, f"hostdev {kind}", hostdev)


def _simple(dom):
    return [Device(_virtio(element, qemu_type), tag, element) for tag, qemu_type in SIMPLE.items()
            for element in _devices(dom, tag)]


def _by_model(dom):
    return [device for tag, table in BY_MODEL.items() for element in _devices(dom, tag)
            for model in [element.get("model", "")]
            for device in _one(element, table, model, f"{tag} {model or '(default)'}")]


def _shmem(dom):
    found = []
    for shmem in _devices(dom, "shmem"):
        model = shmem.find("model")
        kind = "" if model is None else model.get("type", "")
        found.append(Device(SHMEM.get(kind, kind), f"shmem {shmem.get('name', '')}", shmem))
    return found


def _smartcards(dom):
    """The CCID bus (one per <controller type='ccid'>, else one for the cards) and the cards."""
    cards, ccid = _devices(dom, "smartcard"), _devices(dom, "controller[@type='ccid']")
    found = [Device("usb-ccid", "CCID controller", c) for c in ccid] or \
        [Device("usb-ccid", "smartcard", c) for c in cards[:1]]
    return found + [device for card in cards for mode in [card.get("mode", "")]
                    for device in _one(card, SMARTCARDS, mode, f"smartcard {mode}")]


def _outside_devices(dom):
    """The devices elements outside <devices> make: <genid>'s VM generation ID device and
    <features><vmcoreinfo>'s (state on, or none given)."""
    found = [Device("vmgenid", "genid", genid) for genid in dom.root.findall("genid")]
    return found + [Device("vmcoreinfo", "features vmcoreinfo", feature)
                    for feature in dom.root.findall("features/vmcoreinfo")
                    if feature.get("state", "on") == "on"]


def raw_devices(dom):
    """-device arguments passed to QEMU past libvirt (qemu:commandline, xen:commandline)."""
    args = dom.raw_qemu_args
    return [Device(device_type(value), f"raw QEMU argument -device {value}", arg)
            for option, arg in zip(args, args[1:]) for value in [arg.get("value", "")]
            if option.get("value") in ("-device", "--device")]


def device_type(value):
    """The QEMU type of a -device value, JSON or key=value."""
    if value.startswith("{"):
        try:
            return str(json.loads(value).get("driver", value))
        except (ValueError, AttributeError):
            return value
    first = value.split(",")[0]
    return first.removeprefix("driver=")


def _tpm(dom):
    return [Device(t.get("model") or "tpm-tis", "tpm", t) for t in _devices(dom, "tpm")]
