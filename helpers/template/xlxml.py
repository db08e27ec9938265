"""The libvirt domain XML that libvirt's own converter (`virsh domxml-from-native xen-xl`) writes
for an xl.cfg, as far as the facts vmiso's rules judge go.

    xml = domain_xml(xlcfg.read(open("/etc/xen/web.cfg").read()), name="web")
    Domain.from_string(xml).machine       # 'xenfv' (HVM), 'xenpv' (PV) or 'xenpvh' (PVH)

Each mapping follows libvirt's src/libxl/xen_common.c and xen_xl.c (the parser) and the defaults
its post-parse callbacks add (libxl_domain.c: PV console, input devices, xen balloon, xenbus,
the implicit video of a display). A few xl settings libvirt's converter drops are written the
way libvirt's Xen driver expresses the same device (libxl_conf.c), so that a rule still sees
what the guest gets: vga=/stdvga=/videoram= (the video model), spiceusbredirection= and
spicevdagent= (redirdev, spicevmc channel), p9= (filesystem), soundhw='hda' and
device_model_args_hvm/_pv. Settings no rule looks at (vnuma, keymap, acpi_firmware, vkb, ...)
are not mapped; unknown keys are ignored.
"""

import re
import xml.etree.ElementTree as ET

XEN_NS = "http://libvirt.org/schemas/domain/xen/1.0"
ET.register_namespace("xen", XEN_NS)
# What libvirt's capabilities give a Xen host: machine per OS type, the HVM firmware and
# device model (LIBXL_FIRMWARE_DIR, LIBXL_EXECBIN_DIR).
MACHINES = {"hvm": "xenfv", "xen": "xenpv", "xenpvh": "xenpvh"}
OS_TYPES = {"hvm": "hvm", "xen": "linux", "xenpvh": "xenpvh"}
HVMLOADER = "/usr/lib/xen/boot/hvmloader"
OVMF = "/usr/lib/xen/boot/ovmf.bin"
EMULATOR = "/usr/lib/xen/bin/qemu-system-i386"
DEFAULT_MEMORY_MIB = 128  # xen_common.h: MIN_XEN_GUEST_SIZE * 2
BOOT_DEVICES = {"a": "fd", "d": "cdrom", "n": "network"}  # anything else: hd
LIFECYCLE = {"on_poweroff": "destroy", "on_reboot": "restart", "on_crash": "restart"}
LIFECYCLE_ACTIONS = ("destroy", "restart", "rename-restart", "preserve", "coredump-destroy",
                     "coredump-restart")
# xl's cpuid names that libvirt spells differently (xen_xl.c xenTranslateCPUFeature).
CPUID_NAMES = {"cmpxchg16": "cx16", "cntxid": "cid", "dscpl": "ds_cpl", "pclmulqdq": "pclmuldq",
               "sse3": "pni", "htt": "ht", "psn": "pn", "clfsh": "clflush", "sysenter": "sep",
               "cmpxchg8": "cx8", "nodeid": "nodeid_msr", "altmovcr8": "cr8legacy",
               "lahfsahf": "lahf_lm", "cmplegacy": "cmp_legacy", "ffxsr": "fxsr_opt",
               "page1gb": "pdpe1gb", "ibrsb": "spec-ctrl"}
CPUID_POLICIES = {"1": "force", "0": "disable", "x": "optional", "k": "optional", "s": "optional"}
TSC_MODES = {"always_emulate": "emulate", "native": "native", "native_paravirt": "paravirt"}
SOUND_MODELS = ("sb16", "es1370", "pcspk", "ac97", "ich6", "ich9", "ich7", "usb", "virtio")
SOUND_ALIASES = {"all": ("sb16", "es1370"), "hda": ("ich6",)}  # 'all': xen_common.c's two
USB_INPUTS = ("tablet", "mouse", "keyboard")  # usbdevice= values libvirt maps
# xl's vga= and the libvirt video model libxl_conf.c libxlMakeVideo turns back into it; the
# video memory (KiB) libxl_domain.c gives each under qemu-xen.
VGA_MODELS = {"stdvga": "vga", "cirrus": "cirrus", "none": "none", "qxl": "qxl"}
VIDEO_RAM = {"vga": 16384, "cirrus": 8192, "qxl": 131072, "xen": 4096}
P9_ACCESS = {"none": "squash", "passthrough": "passthrough", "mapped": "mapped",
             "mapped-xattr": "mapped", "mapped-file": "mapped"}
VIF_RATE = re.compile(r"^(\d+)([GMK]?)([Bb])/s$")


def domain_xml(cfg, name=""):
    """The domain XML (a string) for an xlcfg.Settings; `name` where it has no name=."""
    kind = os_kind(cfg)
    root = ET.Element("domain", type="xen")
    _identity(root, cfg, name)
    _resources(root, cfg, kind)
    _os(root, cfg, kind)
    _features(root, cfg, kind)
    _cpu(root, cfg, kind)
    _clock(root, cfg, kind)
    for key, default in LIFECYCLE.items():
        _sub(root, key, _lifecycle(cfg, key, default))
    devices = _sub(root, "devices")
    for add in (_emulator, _disks, _controllers, _filesystems, _interfaces, _chardevs,
                _inputs, _graphics, _sounds, _video, _hostdevs, _redirdevs):
        add(devices, cfg, kind)
    _sub(devices, "memballoon", model="xen")
    _commandline(root, cfg, kind)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")


def os_kind(cfg):
    """libvirt's OS type: hvm, xen (PV) or xenpvh, from type= or else the older builder=."""
    kind = cfg.text("type")
    if kind is not None:
        if kind not in ("hvm", "pv", "pvh"):
            cfg.fail("type", f"{kind!r} is not a Xen guest type; use hvm, pv or pvh")
        return {"pv": "xen", "pvh": "xenpvh"}.get(kind, kind)
    return "hvm" if cfg.text("builder") == "hvm" else "xen"


def _sub(parent, tag, text=None, **attributes):
    element = ET.SubElement(parent, tag, {k: str(v) for k, v in attributes.items()})
    if text is not None:
        element.text = str(text)
    return element


def _identity(root, cfg, name):
    name = cfg.text("name") or name
    if not name:
        cfg.fail("name", "the file has no name = \"...\" line; add one, or pass name=")
    _sub(root, "name", name)
    uuid = cfg.text("uuid")
    if uuid is not None:
        if not re.fullmatch(r"[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}", uuid):
            cfg.fail("uuid", f"{uuid!r} is not a UUID; write it as "
                             f"c7a5fdb2-cdaf-9455-926a-d65c16db1809")
        _sub(root, "uuid", uuid)


def _resources(root, cfg, kind):
    """memory= and maxmem= (MiB) in KiB, vcpus= and maxvcpus= (xen_common.c xenParseMem,
    xenParseCPU); the current memory never above the maximum."""
    current = cfg.number("memory", DEFAULT_MEMORY_MIB)
    maximum = cfg.number("maxmem", current)
    _sub(root, "memory", maximum * 1024, unit="KiB")
    _sub(root, "currentMemory", min(current, maximum) * 1024, unit="KiB")
    vcpus = cfg.number("vcpus", 1)
    maxvcpus = cfg.number("maxvcpus", vcpus)
    attributes = {"placement": "static"}
    if cfg.text("cpus"):
        attributes["cpuset"] = cfg.text("cpus")
    if maxvcpus != vcpus:
        attributes["current"] = vcpus
    _sub(root, "vcpu", maxvcpus, **attributes)


def _os(root, cfg, kind):
    if kind != "hvm":
        for key, tag in (("bootloader", "bootloader"), ("bootargs", "bootloader_args")):
            if cfg.text(key):
                _sub(root, tag, cfg.text(key))
    os_element = _sub(root, "os")
    _sub(os_element, "type", OS_TYPES[kind], arch="x86_64", machine=MACHINES[kind])
    if kind == "hvm":
        if cfg.text("bios") == "ovmf":
            _sub(os_element, "loader", cfg.text("bios_path_override") or OVMF,
                 readonly="yes", type="pflash")
        else:
            _sub(os_element, "loader", HVMLOADER, type="rom")
    for key, tag in (("kernel", "kernel"), ("ramdisk", "initrd")):
        if cfg.text(key):
            _sub(os_element, tag, cfg.text(key))
    if _cmdline(cfg):
        _sub(os_element, "cmdline", _cmdline(cfg))
    if kind == "hvm":
        for letter in (cfg.text("boot") or "c")[:4]:
            _sub(os_element, "boot", dev=BOOT_DEVICES.get(letter, "hd"))


def _cmdline(cfg):
    """cmdline=, else root= and extra= joined as xen_xl.c xenParseCmdline joins them."""
    if cfg.text("cmdline") is not None:
        return cfg.text("cmdline")
    words = [f"root={cfg.text('root')}"] if cfg.text("root") else []
    words += [cfg.text("extra")] if cfg.text("extra") else []
    return " ".join(words) or None


def _features(root, cfg, kind):
    features = ET.Element("features")
    if kind == "hvm":
        # pae is always on for x86_64 HVM (libxl_domain.c libxlDomainDefPostParse).
        for key in ("acpi", "apic", "pae"):
            if key == "pae" or cfg.flag(key, True):
                _sub(features, key)
        if not cfg.flag("hap", True):
            _sub(features, "hap", state="off")
        if cfg.flag("viridian"):
            _sub(features, "viridian")
    xen = ET.Element("xen")
    passthrough = cfg.text("passthrough")
    if kind != "hvm" and cfg.flag("e820_host"):
        _sub(xen, "e820_host", state="on")
        # libvirt's test-paravirt-e820_host.xml has passthrough on beside it.
        passthrough = passthrough or "enabled"
    if passthrough in ("enabled", "sync_pt", "share_pt"):
        mode = {} if passthrough == "enabled" else {"mode": passthrough}
        _sub(xen, "passthrough", state="on", **mode)
    elif passthrough == "disabled":
        _sub(xen, "passthrough", state="off")
    if len(xen):
        features.append(xen)
    if len(features):
        root.append(features)


def _cpu(root, cfg, kind):
    """nestedhvm= (HVM) and cpuid= make a host-passthrough CPU; nestedhvm=1 adds no feature
    (host-passthrough already shows vmx/svm), nestedhvm=0 disables vmx (xen_xl.c picks svm on
    an AMD host, which a file alone cannot tell)."""
    nested = "nestedhvm" in cfg and kind == "hvm"
    cpuid = cfg.text("cpuid")
    if not nested and cpuid is None:
        return
    cpu = _sub(root, "cpu", mode="host-passthrough")
    if nested and not cfg.flag("nestedhvm"):
        _sub(cpu, "feature", policy="disable", name="vmx")
    for name, policy in _cpuid(cfg, cpuid):
        _sub(cpu, "feature", policy=policy, name=CPUID_NAMES.get(name, name))


def _cpuid(cfg, cpuid):
    if not cpuid:
        return []
    first, *rest = cpuid.split(",")
    if first != "host":
        cfg.fail("cpuid", "only the libxl form is understood; write it as "
                          "cpuid = \"host,feature=value,...\"")
    found = []
    for pair in rest:
        name, _, value = pair.partition("=")
        if not name or value not in CPUID_POLICIES:
            cfg.fail("cpuid", f"{pair!r}: write each feature as name=1, name=0 or name=x")
        found.append((name, CPUID_POLICIES[value]))
    return found


def _clock(root, cfg, kind):
    basis = "localtime" if cfg.flag("localtime") else "utc"
    if kind == "hvm":
        clock = _sub(root, "clock", offset="variable", adjustment=cfg.number("rtc_timeoffset", 0),
                     basis=basis)
    else:
        clock = _sub(root, "clock", offset=basis, adjustment="reset")
    if cfg.text("tsc_mode") is not None:
        _sub(clock, "timer", name="tsc", present="yes",
             mode=TSC_MODES.get(cfg.text("tsc_mode"), "auto"))
    if kind == "hvm" and "hpet" in cfg:
        _sub(clock, "timer", name="hpet", present="yes" if cfg.flag("hpet") else "no")


def _lifecycle(cfg, key, default):
    action = cfg.text(key, default)
    if action not in LIFECYCLE_ACTIONS:
        cfg.fail(key, f"{action!r} is not an action libvirt knows; use one of "
                      f"{', '.join(LIFECYCLE_ACTIONS)}")
    return action


def _emulator(devices, cfg, kind):
    emulator = cfg.text("device_model_override") or (EMULATOR if kind == "hvm" else None)
    if emulator:
        _sub(devices, "emulator", emulator)


def _disks(devices, cfg, kind):
    for disk in cfg.disks():
        if disk.backendtype == "standalone":
            cfg.fail("disk", f"{disk.vdev}: libvirt does not support backendtype=standalone")
        _disk(devices, disk, _disk_bus(disk.vdev, kind))


def _disk_bus(vdev, kind):
    """xen_xl.c: xvd* (and every disk of a PV or PVH guest) is on the xen bus, sd* on SCSI,
    anything else IDE."""
    if vdev.startswith("xvd") or kind != "hvm":
        return "xen"
    return "scsi" if vdev.startswith("sd") else "ide"


def _disk(devices, disk, bus):
    if disk.cdrom or disk.backendtype in ("", "qdisk"):
        driver = "qemu"
        kind = "network" if disk.target.startswith("rbd:") and not disk.cdrom else "file"
    else:
        driver, kind = disk.backendtype, "block" if disk.backendtype == "phy" else "file"
    element = _sub(devices, "disk", type=kind, device="cdrom" if disk.cdrom else "disk")
    fmt = "raw" if disk.cdrom or disk.format == "empty" else disk.format
    _sub(element, "driver", name=driver, type=fmt)
    if kind == "network":
        _sub(element, "source", protocol="rbd", name=disk.target[4:].split(":")[0])
    elif disk.target:
        _sub(element, "source", **{"dev" if kind == "block" else "file": disk.target})
    _sub(element, "target", dev=disk.vdev, bus=bus)
    if disk.readonly:
        _sub(element, "readonly")


def _controllers(devices, cfg, kind):
    for index, (model, ports) in enumerate(_usb_controllers(cfg)):
        _sub(devices, "controller", type="usb", index=index, model=model, ports=ports)
    attributes = {}
    for key, attribute in (("max_event_channels", "maxEventChannels"),
                           ("max_grant_frames", "maxGrantFrames")):
        if cfg.number(key, 0):
            attributes[attribute] = cfg.number(key)
    _sub(devices, "controller", type="xenbus", index=0, **attributes)
    buses = {target.get("bus") for target in devices.findall("disk/target")}
    for bus in ("ide", "scsi"):
        if bus in buses:
            _sub(devices, "controller", type=bus, index=0)


def _usb_controllers(cfg):
    """usbctrl= entries as (model, ports); xen_xl.c skips a type other than qusb, reads version
    and ports in hex and makes every version but 1 a qusb2."""
    found = []
    for settings in cfg.dicts("usbctrl"):
        version, ports = _hex(settings, "version", "2"), _hex(settings, "ports", "8")
        if settings.get("type", "qusb").startswith("qusb") and None not in (version, ports):
            found.append(("qusb1" if version == 1 else "qusb2", ports))
    return found


def _hex(settings, key, default):
    try:
        return int(settings.get(key) or default, 16)
    except ValueError:
        return None


def _filesystems(devices, cfg, kind):
    """p9= shares, as libvirt's Xen driver writes the <filesystem> it turns into one."""
    for share in cfg.dicts("p9"):
        model = share.get("security_model") or "passthrough"
        element = _sub(devices, "filesystem", type="mount",
                       accessmode=P9_ACCESS.get(model, "passthrough"))
        _sub(element, "driver", type="path")
        _sub(element, "source", dir=share.get("path") or "")
        _sub(element, "target", dir=share.get("tag") or "")


def _interfaces(devices, cfg, kind):
    for vif in cfg.dicts("vif", check=_vif):
        _interface(devices, vif)


def _vif(vif):
    if None in vif.values():
        raise ValueError("every vif setting is key=value, e.g. bridge=xenbr0")
    mac = vif.get("mac")
    if mac is not None and not re.fullmatch(r"([0-9a-fA-F]{1,2}:){5}[0-9a-fA-F]{1,2}", mac):
        raise ValueError(f"malformed mac {mac!r}; write it as 00:16:3e:00:00:01")
    if vif.get("rate") and not VIF_RATE.match(vif["rate"].split("@")[0]):
        raise ValueError(f"invalid rate {vif['rate']!r}; write it as 10MB/s or 100Mb/s")
    return vif


def _interface(devices, vif):
    """xen_common.c xenParseVif: a bridge (or the vif-bridge script) makes a bridge interface,
    else ethernet; the model is model=, else netfront for type=vif, else none (libxl then
    emulates an rtl8139 beside the PV NIC)."""
    bridged = "bridge" in vif or vif.get("script") in ("vif-bridge", "vif-vnic")
    element = _sub(devices, "interface", type="bridge" if bridged else "ethernet")
    if vif.get("mac"):
        _sub(element, "mac", address=vif["mac"].lower())
    if bridged and vif.get("bridge"):
        # bridge.VLAN and bridge:VLAN:VLAN name Open vSwitch VLANs; the bridge comes first.
        _sub(element, "source", bridge=re.split(r"[.:]", vif["bridge"])[0])
    if vif.get("rate"):
        _sub(_sub(element, "bandwidth"), "outbound", average=_rate(vif["rate"]))
    for address in (vif.get("ip") or "").split():
        _sub(element, "ip", address=address)
    if vif.get("script"):
        _sub(element, "script", path=vif["script"])
    if vif.get("vifname"):
        _sub(element, "target", dev=vif["vifname"])
    model = vif.get("model") or ("netfront" if vif.get("type") == "vif" else None)
    if model:
        _sub(element, "model", type=model)


def _rate(rate):
    """KB/s as xen_common.c xenParseSxprVifRate counts them (a bare B/s counts as KB/s)."""
    number, unit, bits = VIF_RATE.match(rate.split("@")[0]).groups()
    kbytes = int(number) * {"G": 1024 * 1024, "M": 1024}.get(unit, 1)
    return kbytes // 8 if bits == "b" else kbytes


def _chardevs(devices, cfg, kind):
    if kind == "hvm":
        ports = [(port, value) for port, value in enumerate(cfg.strings("serial", single=True))
                 if value != "none"]
        for port, value in ports:
            _chardev(devices, "serial", cfg, "serial", value, port=port)
        parallel = cfg.text("parallel")
        if parallel and parallel != "none":
            _chardev(devices, "parallel", cfg, "parallel", parallel, port=0)
        if ports:
            _chardev(devices, "console", cfg, "serial", ports[0][1], type="serial", port=0)
    else:
        _sub(_sub(devices, "console", type="pty"), "target", type="xen", port=0)
    for channel in cfg.dicts("channel"):
        _channel(devices, cfg, channel)
    if kind == "hvm" and cfg.flag("spice") and cfg.flag("spicevdagent"):
        # The vdagent port libxl gives QEMU; libvirt's converter drops spicevdagent=.
        channel = _sub(devices, "channel", type="spicevmc")
        _sub(channel, "target", type="virtio", name="com.redhat.spice.0")


def _chardev(devices, tag, cfg, key, value, **target):
    """A serial or parallel port from xend's character device syntax (xen_common.c
    xenParseSxprChar): /dev/path, pty, file:path, unix:path[,server], tcp:host:port, ..."""
    kind, _, rest = ("dev", "", value) if value.startswith("/") else value.partition(":")
    kind = "tcp" if kind.startswith("telnet") else kind
    if kind not in ("null", "vc", "pty", "dev", "file", "pipe", "stdio", "udp", "tcp", "unix",
                    "spicevmc", "spiceport", "nmdm"):
        cfg.fail(key, f"{value!r} is not a character device; use pty, file:PATH, "
                      f"unix:PATH, tcp:HOST:PORT or a /dev path")
    element = _sub(devices, tag, type=kind)
    if kind in ("dev", "file", "pipe", "unix"):
        path, _, options = rest.partition(",")
        mode = {"mode": "bind" if "server" in options else "connect"} if kind == "unix" else {}
        _sub(element, "source", path=path, **mode)
    elif kind == "tcp":
        host, _, service = rest.partition(":")
        service, _, options = service.partition(",")
        _sub(element, "source", mode="bind" if "server" in options else "connect",
             host=host, service=service)
    _sub(element, "target", **target)


def _channel(devices, cfg, channel):
    """channel= (xen_xl.c xenParseXLChannel): connection=socket is a unix channel libvirt
    listens on, connection=pty a pty; the target is a xen one with the channel's name."""
    connection = channel.get("connection") or ""
    if connection.startswith("socket"):
        element = _sub(devices, "channel", type="unix")
        _sub(element, "source", mode="bind", path=channel.get("path") or "")
    elif connection.startswith("pty"):
        element = _sub(devices, "channel", type="pty")
    else:
        cfg.fail("channel", f"connection={connection!r}; use connection=socket or "
                            f"connection=pty")
    _sub(element, "target", type="xen", **({"name": channel["name"]} if channel.get("name")
                                            else {}))


def _inputs(devices, cfg, kind):
    if kind == "hvm":
        for device in cfg.strings("usbdevice", single=True):
            if device in USB_INPUTS:
                _sub(devices, "input", type=device, bus="usb")
    # libvirt always adds a mouse and a keyboard: PS/2 under HVM, Xen PV ones otherwise.
    for device in ("mouse", "keyboard"):
        _sub(devices, "input", type=device, bus="ps2" if kind == "hvm" else "xen")


def _graphics(devices, cfg, kind):
    if kind == "hvm" and cfg.flag("vnc"):
        _vnc(devices, cfg)
    elif kind == "hvm" and cfg.flag("sdl"):
        _sub(devices, "graphics", type="sdl")
    elif kind != "hvm" and cfg.strings("vfb"):
        _vfb(devices, cfg, cfg.dicts("vfb")[0])
    if kind == "hvm" and cfg.flag("spice"):
        # libvirt's converter lets SPICE replace a VNC display; Xen runs both, so both are here.
        _spice(devices, cfg)


def _vnc(devices, cfg):
    autoport = cfg.flag("vncunused", True)
    port = -1 if autoport else 5900 + cfg.number("vncdisplay", 0)
    _display(devices, "vnc", cfg.text("vnclisten"), cfg.text("vncpasswd"), port=port,
             autoport="yes" if autoport else "no")


def _vfb(devices, cfg, vfb):
    """A PV guest's first vfb= entry (xen_common.c xenParseVfb): SDL for type=sdl, else VNC."""
    if vfb.get("type") == "sdl":
        _sub(devices, "graphics", type="sdl")
        return
    autoport, display = vfb.get("vncunused") == "1", vfb.get("vncdisplay")
    if display is not None and not display.isdigit():
        cfg.fail("vfb", f"vncdisplay={display!r}; use a display number, e.g. vncdisplay=1")
    ports = {"port": 5900 + int(display)} if display else {"port": -1} if autoport else {}
    _display(devices, "vnc", vfb.get("vnclisten"), vfb.get("vncpasswd"), **ports,
             autoport="yes" if autoport else "no")


def _spice(devices, cfg):
    """spice= and its settings (xen_xl.c xenParseXLSpice); libvirt insists on spicepasswd unless
    spicedisable_ticketing=1, and always writes the clipboard setting."""
    ports = {attribute: cfg.number(key) for key, attribute in
             (("spiceport", "port"), ("spicetls_port", "tlsPort")) if cfg.number(key, 0)}
    ports["autoport"] = "no" if ports else "yes"
    password = None
    if not cfg.flag("spicedisable_ticketing"):
        password = cfg.text("spicepasswd")
        if password is None:
            cfg.fail("spice", "needs spicepasswd = \"...\" unless spicedisable_ticketing = 1")
    element = _display(devices, "spice", cfg.text("spicehost"), password, **ports)
    _sub(element, "mouse", mode="client" if cfg.flag("spiceagent_mouse") else "server")
    _sub(element, "clipboard", copypaste="yes" if cfg.flag("spice_clipboard_sharing") else "no")


def _display(devices, kind, listen, password, **ports):
    attributes = dict(ports)
    if listen:
        attributes["listen"] = listen
    if password:
        attributes["passwd"] = password
    element = _sub(devices, "graphics", type=kind, **attributes)
    _sub(element, "listen", type="address", **({"address": listen} if listen else {}))
    return element


def _sounds(devices, cfg, kind):
    soundhw = cfg.text("soundhw")
    if kind != "hvm" or not soundhw:
        return
    for model in soundhw.split(","):
        models = SOUND_ALIASES.get(model, (model,))
        if models[0] not in SOUND_MODELS:
            cfg.fail("soundhw", f"{model!r} is not a sound model libvirt knows; use one of "
                                f"{', '.join(SOUND_MODELS)}")
        for name in models:
            _sub(devices, "sound", model=name)


def _video(devices, cfg, kind):
    """The video card libvirt adds for a display: xen for PV, else cirrus (Xen's HVM default)
    unless vga= or stdvga=1 choose another."""
    if devices.find("graphics") is None:
        return
    model = {"xen": "xen", "xenpvh": "cirrus"}.get(kind) or _vga(cfg)
    attributes = {"type": model}
    if model != "none" and kind != "xenpvh":
        vram = cfg.number("videoram")
        attributes |= {"vram": vram * 1024 if vram and kind == "hvm" else VIDEO_RAM[model],
                       "heads": 1, "primary": "yes"}
    _sub(_sub(devices, "video"), "model", **attributes)


def _vga(cfg):
    vga = cfg.text("vga")
    if vga is None:
        return "vga" if cfg.flag("stdvga") else "cirrus"
    if vga not in VGA_MODELS:
        cfg.fail("vga", f"{vga!r} is not a Xen VGA; use stdvga, cirrus, qxl or none")
    return VGA_MODELS[vga]


def _hostdevs(devices, cfg, kind):
    for address in cfg.pci_addresses():
        element = _sub(devices, "hostdev", mode="subsystem", type="pci", managed="no")
        _sub(element, "driver", name="xen")
        filtering = {} if address.permissive is None else {
            "writeFiltering": "no" if address.permissive else "yes"}
        _sub(_sub(element, "source", **filtering), "address", domain=f"0x{address.domain:04x}",
             bus=f"0x{address.bus:02x}", slot=f"0x{address.slot:02x}",
             function=f"0x{address.function:x}")
    for bus, device in _usb_hostdevs(cfg):
        element = _sub(devices, "hostdev", mode="subsystem", type="usb", managed="no")
        _sub(_sub(element, "source"), "address", bus=bus, device=device)


def _usb_hostdevs(cfg):
    """usbdev= entries as (bus, device); xen_xl.c reads hostbus and hostaddr in hex."""
    found = []
    for settings in cfg.dicts("usbdev"):
        bus, device = _hex(settings, "hostbus", "0"), _hex(settings, "hostaddr", "0")
        if None not in (bus, device):
            found.append((bus, device))
    return found


def _redirdevs(devices, cfg, kind):
    """spiceusbredirection=N (HVM with SPICE): the N USB redirection channels libxl gives QEMU,
    as libvirt spells them; libvirt's converter drops the setting."""
    count = cfg.number("spiceusbredirection", 0)
    if not 0 <= count <= 4:
        cfg.fail("spiceusbredirection", f"{count} is out of range; xl takes 0 to 4")
    if kind == "hvm" and cfg.flag("spice"):
        for _ in range(count):
            _sub(devices, "redirdev", bus="usb", type="spicevmc")


def _commandline(root, cfg, kind):
    """device_model_args (and the _hvm or _pv one for this guest's type) as libvirt's Xen
    namespace <xen:commandline>: arguments passed to QEMU untouched."""
    own = "device_model_args_hvm" if kind == "hvm" else "device_model_args_pv"
    arguments = cfg.strings("device_model_args") + cfg.strings(own)
    if arguments:
        commandline = _sub(root, f"{{{XEN_NS}}}commandline")
        for argument in arguments:
            _sub(commandline, f"{{{XEN_NS}}}arg", value=argument)
