"""The QEMU devices libvirt (9.0, x86, QEMU driver) creates for a domain XML, implicit ones
included: the machine's own chipset, the USB controller and memory balloon it adds unless told
not to, the video card a display gets, the controllers a disk or channel needs.

    >>> dom = Domain.from_string(open("templates/hardened.xml").read())
    >>> [d.qemu_type for d in qemu_devices(dom) if d.source != CHIPSET]
    ['virtio-blk-pci', 'virtio-net-pci', 'isa-serial']

Device types are QEMU's (`info qtree` "dev:" names). A property test (tests/selftest/
test_static_agreement.py) holds this model to the command lines the lab's libvirtd writes.
"""

import json
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
VIDEO = {"": ("cirrus-vga", "cirrus-vga"), "cirrus": ("cirrus-vga", "cirrus-vga"),
         "vga": ("VGA", "VGA"), "qxl": ("qxl-vga", "qxl"), "vmvga": ("vmware-svga",) * 2,
         "virtio": ("virtio-vga", "virtio-gpu-pci"), "bochs": ("bochs-display",) * 2,
         "ramfb": ("ramfb", "ramfb")}
VIDEO_GL = {"virtio": ("virtio-vga-gl", "virtio-gpu-gl-pci")}
VIDEO_VHOST_USER = {"virtio": ("vhost-user-vga", "vhost-user-gpu-pci")}
SOUND = {"ich6": ("intel-hda", "hda-duplex"), "ich7": ("intel-hda", "hda-duplex"),
         "ich9": ("ich9-intel-hda", "hda-duplex"), "ac97": ("AC97",), "es1370": ("ES1370",),
         "sb16": ("sb16",), "usb": ("usb-audio",)}
HDA_CODECS = {"duplex": "hda-duplex", "micro": "hda-micro", "output": "hda-output"}
INPUTS = {("tablet", "usb"): "usb-tablet", ("mouse", "usb"): "usb-mouse",
          ("keyboard", "usb"): "usb-kbd", ("tablet", "virtio"): "virtio-tablet-pci",
          ("mouse", "virtio"): "virtio-mouse-pci", ("keyboard", "virtio"): "virtio-keyboard-pci"}
DISKS = {("virtio", "disk"): "virtio-blk-pci", ("virtio", "lun"): "virtio-blk-pci",
         ("virtio", "cdrom"): "virtio-blk-pci",
         ("ide", "disk"): "ide-hd", ("ide", "cdrom"): "ide-cd", ("sata", "disk"): "ide-hd",
         ("sata", "cdrom"): "ide-cd", ("scsi", "disk"): "scsi-hd", ("scsi", "cdrom"): "scsi-cd",
         ("scsi", "lun"): "scsi-block", ("usb", "disk"): "usb-storage",
         ("usb", "cdrom"): "usb-storage"}
HOSTDEVS = {"pci": "vfio-pci", "mdev": "vfio-pci", "usb": "usb-host", "scsi": "scsi-generic"}
SIMPLE = {"rng": "virtio-rng-pci", "vsock": "vhost-vsock-pci", "redirdev": "usb-redir",
          "hub": "usb-hub", "parallel": "isa-parallel"}
WATCHDOGS = {"i6300esb": "i6300esb", "ib700": "ib700"}
PANIC = {"isa": "pvpanic", "pci": "pvpanic-pci"}
SHMEM = {"": "ivshmem-plain", "ivshmem-plain": "ivshmem-plain",
         "ivshmem-doorbell": "ivshmem-doorbell", "ivshmem": "ivshmem-plain"}
SERIAL_TARGETS = {"": "isa-serial", "isa-serial": "isa-serial", "pci-serial": "pci-serial",
                  "usb-serial": "usb-serial"}


@dataclass(frozen=True)
class Device:
    qemu_type: str
    source: str  # the XML that makes it, in a few words


def qemu_devices(dom):
    """Every QEMU device the domain gets; a Xen PV or PVH guest has no device model (none)."""
    if dom.is_xen_paravirtual:
        return []
    found = [Device(t, CHIPSET) for t in chipset(dom)]
    for reader in (_disks, _controllers, _interfaces, _video, _sound, _inputs, _balloon,
                   _serials, _channels, _filesystems, _hostdevs, _simple, _watchdogs, _panic,
                   _shmem, _smartcards, _tpm, _raw_devices):
        found += reader(dom)
    return found + _usb_hub(found)


def _usb_hub(devices):
    """The hub libvirt adds when the USB devices outnumber the controller's ports."""
    ports = sum(USB_PORTS.get(d.qemu_type, 0) for d in devices)
    on_usb = [d for d in devices if d.qemu_type.startswith("usb-")
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


def _disks(dom):
    found, floppies = [], False
    for disk in _devices(dom, "disk"):
        target = disk.find("target")
        device = disk.get("device", "disk")
        if target is None:
            continue
        if device == "floppy":
            floppies = True
            found.append(Device("floppy", f"floppy disk {target.get('dev')}"))
            continue
        bus = dom.disk_bus(target)
        kind = DISKS.get((bus, device))
        if kind:
            found.append(Device(kind, f"{device} {target.get('dev')} on bus {bus}"))
    if floppies and not dom.is_i440fx:
        found.append(Device("isa-fdc", "a floppy disk on a machine without a built-in one"))
    return found


def _controllers(dom):
    found = []
    usb = [c.get("model", "") for c in _devices(dom, "controller[@type='usb']")]
    if not usb and not dom.is_xen:
        usb = [""]
    for model in usb:
        default = "piix3-usb-uhci" if dom.is_i440fx else "qemu-xhci"
        if model != "none":
            found.append(Device(USB_CONTROLLERS.get(model, default if not model else model),
                                f"USB controller {model or '(libvirt default)'}"))
    scsi = [c.get("model", "") for c in _devices(dom, "controller[@type='scsi']")]
    if not scsi and any(bus == "scsi" for _, _, bus in dom.disk_buses):
        scsi = [""]
    found += [Device(SCSI_CONTROLLERS.get(m, m), f"SCSI controller {m or '(libvirt default)'}")
              for m in scsi]
    sata = _devices(dom, "controller[@type='sata']") or \
        [bus for _, _, bus in dom.disk_buses if bus == "sata"]
    if sata and dom.is_i440fx:  # q35 has its own AHCI
        found.append(Device("ich9-ahci", "SATA controller"))
    serial = _devices(dom, "controller[@type='virtio-serial']")
    if serial or _needs_virtio_serial(dom):
        found.append(Device("virtio-serial-pci", "virtio-serial controller"))
    return found


def _needs_virtio_serial(dom):
    return bool(dom.root.findall("devices/channel/target[@type='virtio']")
                or dom.root.findall("devices/console/target[@type='virtio']"))


def _interfaces(dom):
    found = []
    for iface, model in zip(dom.interfaces, dom.nic_models):
        kind = iface.get("type")
        if kind == "hostdev":
            found.append(Device("vfio-pci", "interface type hostdev"))
        elif kind in ("vhostuser", "vdpa"):
            found.append(Device("virtio-net-pci", f"interface type {kind}"))
        else:
            found.append(Device(NICS.get(model, model), f"interface model {model or '(default)'}"))
    return found


def _video(dom):
    videos = dom.videos
    if not videos and dom.graphics_types and not dom.is_xen_paravirtual:
        return [Device("cirrus-vga", "a <graphics> without <video>")]
    found = []
    for index, video in enumerate(videos):
        if video.model == "none":
            continue
        table = VIDEO_VHOST_USER if video.vhost_user else VIDEO_GL if video.virgl else VIDEO
        pair = table.get(video.model, (video.model, video.model))
        found.append(Device(pair[0 if index == 0 else 1],
                            f"video model {video.model or '(default)'}"))
    return found


def _sound(dom):
    found = []
    for sound in _devices(dom, "sound"):
        model = sound.get("model", "")
        types = SOUND.get(model, (model,))
        codecs = [HDA_CODECS.get(c.get("type", ""), "") for c in sound.findall("codec")]
        if len(types) == 2 and codecs:
            types = types[:1] + tuple(codecs)
        found += [Device(t, f"sound model {model}") for t in types]
    return found


def _inputs(dom):
    found = []
    for item in _devices(dom, "input"):
        kind = item.get("type", "")
        bus = item.get("bus") or ("usb" if kind == "tablet" else "ps2")
        if (kind, bus) in INPUTS:
            found.append(Device(INPUTS[(kind, bus)], f"input {kind} on bus {bus}"))
        elif kind == "passthrough":
            found.append(Device("virtio-input-host-pci", "input passthrough"))
    return found


def _balloon(dom):
    models = dom.memballoon_models
    if not models and not dom.is_xen:
        models = ["virtio"]
    return [Device("virtio-balloon-pci", f"memballoon {m}") for m in models
            if m in ("virtio", "virtio-transitional", "virtio-non-transitional")]


def _serials(dom):
    found = []
    for serial in _devices(dom, "serial"):
        target = serial.find("target")
        kind = "" if target is None else target.get("type", "")
        model = None if target is None else target.find("model")
        kind = model.get("name") if model is not None else kind
        found.append(Device(SERIAL_TARGETS.get(kind, kind), f"serial port ({kind or 'isa'})"))
    consoles = dom.root.findall("devices/console/target[@type='virtio']")
    return found + [Device("virtconsole", "virtio console") for _ in consoles]


def _channels(dom):
    return [Device("virtserialport", f"channel {t.get('name', '')}")
            for t in dom.root.findall("devices/channel/target[@type='virtio']")]


def _filesystems(dom):
    return [Device("vhost-user-fs-pci" if fs.kind == "virtiofs" else "virtio-9p-pci",
                   f"filesystem {fs.kind} {fs.tag}") for fs in dom.filesystems]


def _hostdevs(dom):
    return [Device(HOSTDEVS.get(h.get("type", ""), "vfio-pci"), f"hostdev {h.get('type')}")
            for h in _devices(dom, "hostdev")]


def _simple(dom):
    return [Device(qemu_type, tag) for tag, qemu_type in SIMPLE.items()
            for _ in _devices(dom, tag)]


def _watchdogs(dom):
    return [Device(WATCHDOGS[w.get("model")], f"watchdog {w.get('model')}")
            for w in _devices(dom, "watchdog") if w.get("model") in WATCHDOGS]


def _panic(dom):
    return [Device(PANIC[p.get("model")], f"panic {p.get('model')}")
            for p in _devices(dom, "panic") if p.get("model") in PANIC]


def _shmem(dom):
    found = []
    for shmem in _devices(dom, "shmem"):
        model = shmem.find("model")
        kind = "" if model is None else model.get("type", "")
        found.append(Device(SHMEM.get(kind, kind), f"shmem {shmem.get('name', '')}"))
    return found


def _smartcards(dom):
    cards = _devices(dom, "smartcard")
    found = [Device("usb-ccid", "smartcard")] if cards else []
    return found + [Device("ccid-card-emulated" if c.get("mode") == "host" else
                           "ccid-card-passthru", f"smartcard {c.get('mode')}") for c in cards]


def _raw_devices(dom):
    """-device arguments passed to QEMU past libvirt (qemu:commandline, xen:commandline)."""
    args = dom.raw_qemu_args
    return [Device(_device_type(value), f"raw QEMU argument -device {value}")
            for option, value in zip(args, args[1:]) if option in ("-device", "--device")]


def _device_type(value):
    if value.startswith("{"):
        try:
            return str(json.loads(value).get("driver", value))
        except (ValueError, AttributeError):
            return value
    first = value.split(",")[0]
    return first.removeprefix("driver=")


def _tpm(dom):
    return [Device(t.get("model") or "tpm-tis", "tpm") for t in _devices(dom, "tpm")]
