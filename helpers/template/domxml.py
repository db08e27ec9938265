"""Read a libvirt domain XML: one small property per fact the controls look at.

    >>> dom = Domain.from_string(open("templates/hardened.xml").read())
    >>> dom.machine, dom.usb_controller_models
    ('q35', ['none'])

Element reference: https://libvirt.org/formatdomain.html
"""

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from helpers.template.xmlproperty import Attribute, Each, Text

# Machine types built on QEMU's i440fx/PIIX setup, which always creates an isa-fdc; xenfv is a
# Xen HVM guest's device model, QEMU on i440fx.
I440FX_MACHINES = ("pc", "isapc", "xenfv")
QEMU_NS = "{http://libvirt.org/schemas/domain/qemu/1.0}"
XEN_NS = "{http://libvirt.org/schemas/domain/xen/1.0}"  # libxl's device_model_args
NESTED_FEATURES = ("vmx", "svm")
CHARDEVS = ("serial", "parallel", "console", "channel")
SEED_SERIAL = "vmiso-seed"  # the disk vmiso adds to every guest for its keys
I440FX_PREFIX = "pc-i440fx-"
# Xen guests without a device model (no emulated hardware): PV and PVH, by machine or OS type.
XEN_PARAVIRTUAL = ("xenpv", "xenpvh", "linux", "xen")
# The bus libvirt gives a disk without one, from its target's name (virDiskNameToBus).
BUS_BY_PREFIX = (("hd", "ide"), ("sd", "scsi"), ("vd", "virtio"), ("xvd", "xen"), ("ub", "usb"),
                 ("fd", "fdc"))


class TemplateError(ValueError):
    """The user's template is not a usable libvirt domain XML; the message says why."""


@dataclass(frozen=True)
class Filesystem:
    kind: str  # 9p or virtiofs
    source: str
    tag: str


@dataclass(frozen=True)
class Video:
    model: str
    virgl: bool  # 3D acceleration
    vhost_user: bool  # a vhost-user GPU backend


@dataclass(frozen=True)
class Channel:
    kind: str  # spicevmc, qemu-vdagent, unix, pty ...
    target_name: str
    copypaste: str  # yes/no for qemu-vdagent's <clipboard>, '' when unset


class Domain:
    """A domain XML as libvirt reads it."""

    # One line per fact that is one attribute or text (helpers/template/xmlproperty.py); the
    # properties below compute the rest. '' where the XML leaves it unset.
    name = Text("name")
    virt_type = Attribute(".", "type")  # the accelerator asked for: kvm or qemu (TCG)
    arch = Attribute("os/type", "arch")  # '': the host's (x86_64 where vmiso runs)
    emulator = Text("devices/emulator")
    smbios_mode = Attribute("os/smbios", "mode")
    cpu_mode = Attribute("cpu", "mode")
    cpu_match = Attribute("cpu", "match")
    cpu_model = Text("cpu/model", strip=True)  # '': QEMU's default model
    cpu_shares = Text("cputune/shares", strip=True)  # the CPU weight against neighbours
    memory_hard_limit = Text("memtune/hard_limit")
    dump_core = Attribute("memory", "dumpCore")  # '': qemu.conf's dump_guest_core decides
    dac_label = Text("seclabel[@model='dac']/label", strip=True)  # QEMU's uid:gid ('': the host's)
    floppy_disks = Each("devices/disk[@device='floppy']/target", "dev")
    usb_controller_models = Each("devices/controller[@type='usb']", "model")  # '': default
    scsi_controller_models = Each("devices/controller[@type='scsi']", "model")
    nvme_controllers = Each("devices/controller[@type='nvme']", "index", default="0")
    sound_models = Each("devices/sound", "model")
    graphics_types = Each("devices/graphics", "type")
    spice_copypaste = Each("devices/graphics[@type='spice']", "copypaste", child="clipboard")
    spice_filetransfer = Each("devices/graphics[@type='spice']", "enable", child="filetransfer")
    parallel_ports = Each("devices/parallel", "type")
    nic_models = Each("devices/interface", "type", child="model")  # '': an emulated NIC
    shared_memory = Each("devices/shmem", "name")
    vsock_models = Each("devices/vsock", "model", default="virtio")
    memballoon_models = Each("devices/memballoon", "model")

    def __init__(self, root):
        if root.tag != "domain":
            raise TemplateError(f"the root element is <{root.tag}>, not <domain>")
        self.root = root

    @classmethod
    def from_string(cls, text):
        try:
            return cls(ET.fromstring(text))
        except ET.ParseError as err:
            raise TemplateError(f"not well-formed XML ({err})") from None

    def to_string(self):
        return ET.tostring(self.root, encoding="unicode")

    def _all(self, path):
        return self.root.findall(path)

    @property
    def machine(self):
        os_type = self.root.find("os/type")
        return os_type.get("machine", "pc") if os_type is not None else "pc"

    @property
    def is_xen(self):
        return self.virt_type == "xen"

    @property
    def is_xen_paravirtual(self):
        """A Xen PV or PVH guest: no device model, so no emulated device at all."""
        os_type = self.root.find("os/type")
        return self.is_xen and os_type is not None and \
            (os_type.get("machine") in XEN_PARAVIRTUAL or (os_type.text or "").strip() in
             XEN_PARAVIRTUAL)

    @property
    def uses_uefi(self):
        os_ = self.root.find("os")
        return os_ is not None and (os_.get("firmware") == "efi"
                                    or os_.find("loader[@type='pflash']") is not None)

    @property
    def vcpus(self):
        """The vCPUs the domain starts with (<vcpu current>, else <vcpu>); 1 where unset."""
        vcpu = self.root.find("vcpu")
        try:
            return max(1, int(vcpu.get("current") or vcpu.text))
        except (AttributeError, TypeError, ValueError):
            return 1

    @property
    def is_i440fx(self):
        return self.machine in I440FX_MACHINES or self.machine.startswith(I440FX_PREFIX)

    @property
    def usb_devices(self):
        """Devices that sit on a USB bus: input (a tablet without a bus too), hostdev, redirdev,
        hub, USB disks, smartcards (usb-ccid), USB sound and USB serial ports."""
        found = [f"input {i.get('type')}" for i in self._all("devices/input")
                 if i.get("bus", "usb" if i.get("type") == "tablet" else "") == "usb"]
        found += ["smartcard (usb-ccid)" for _ in self._all("devices/smartcard")]
        found += ["sound usb" for _ in self._all("devices/sound[@model='usb']")]
        found += ["serial usb-serial" for _ in
                  self._all("devices/serial/target[@type='usb-serial']")]
        found += ["hostdev usb" for _ in self._all("devices/hostdev[@type='usb']")]
        found += [f"redirdev {r.get('type')}" for r in self._all("devices/redirdev")]
        found += [f"hub {h.get('type')}" for h in self._all("devices/hub")]
        found += [f"disk {t.get('dev')}" for t in self._all("devices/disk/target[@bus='usb']")]
        return found

    @property
    def filesystems(self):
        shares = []
        for fs in self._all("devices/filesystem"):
            driver = fs.find("driver")
            kind = "virtiofs" if driver is not None and driver.get("type") == "virtiofs" else "9p"
            source = fs.find("source")
            src = "" if source is None else (source.get("dir") or source.get("file")
                                             or source.get("name") or source.get("socket") or "")
            target = fs.find("target")
            shares.append(Filesystem(kind, src, "" if target is None else target.get("dir", "")))
        return shares

    @property
    def channels(self):
        found = []
        for ch in self._all("devices/channel"):
            target = ch.find("target")
            clipboard = ch.find("source/clipboard")
            found.append(Channel(ch.get("type", ""),
                                 "" if target is None else target.get("name", ""),
                                 "" if clipboard is None else clipboard.get("copypaste", "")))
        return found

    @property
    def videos(self):
        """Each <video>: its model ('' without one: libvirt picks) and its GPU backends."""
        found = []
        for video in self._all("devices/video"):
            model = video.find("model")
            kind = "" if model is None else model.get("type", "")
            virtio = kind == "virtio"  # virgl and vhost-user back virtio GPUs only
            found.append(Video(kind,
                               virtio and model.find("acceleration[@accel3d='yes']") is not None,
                               virtio and video.find("driver[@name='vhostuser']") is not None))
        return found

    @property
    def video_models(self):
        return [video.model for video in self.videos]

    @property
    def video_accelerations(self):
        """(model, what) of each video device with 3D acceleration or a vhost-user backend."""
        return [(video.model, what) for video in self.videos
                for on, what in ((video.virgl, "3D acceleration (virgl)"),
                                 (video.vhost_user, "a vhost-user GPU backend")) if on]

    @property
    def redirdevs(self):
        return [f"{r.get('bus', 'usb')} {r.get('type', '')}" for r in self._all("devices/redirdev")]

    @staticmethod
    def disk_bus(target):
        """A disk target's bus: the one given, else the one libvirt derives from its name."""
        if target.get("bus"):
            return target.get("bus")
        dev = target.get("dev", "")
        return next((bus for prefix, bus in BUS_BY_PREFIX if dev.startswith(prefix)), "")

    @property
    def disk_buses(self):
        """(target dev, device, bus) of every disk but floppies (cdrom and lun included)."""
        return [(t.get("dev", ""), d.get("device", "disk"), self.disk_bus(t))
                for d in self._all("devices/disk") if d.get("device", "disk") != "floppy"
                for t in d.findall("target")]

    @property
    def nested_virt_features(self):
        """vmx/svm CPU features the XML requires, forces or takes where the host has them."""
        return [f"{f.get('name')} ({f.get('policy', 'require')})"
                for f in self._all("cpu/feature")
                if f.get("name") in NESTED_FEATURES and f.get("policy", "require") in
                ("require", "force", "optional")]

    @property
    def disabled_cpu_features(self):
        return {f.get("name") for f in self._all("cpu/feature")
                if f.get("policy") in ("disable", "forbid")}

    @property
    def raw_qemu_args(self):
        """The <arg> elements (each a value) of every <qemu:commandline> and <xen:commandline>,
        in order."""
        return [arg for ns in (QEMU_NS, XEN_NS)
                for arg in self.root.findall(f"{ns}commandline/{ns}arg")]

    @property
    def qemu_passthrough(self):
        """qemu:commandline arguments, qemu:override elements and libxl's xen:commandline
        arguments (raw QEMU, bypassing libvirt)."""
        found = [f"qemu:arg {a.get('value')}" for a in
                 self.root.findall(f"{QEMU_NS}commandline/{QEMU_NS}arg")]
        found += [f"qemu:env {e.get('name')}" for e in
                  self.root.findall(f"{QEMU_NS}commandline/{QEMU_NS}env")]
        found += [f"xen:arg {a.get('value')}" for a in
                  self.root.findall(f"{XEN_NS}commandline/{XEN_NS}arg")]
        return found + ["qemu:override" for _ in self.root.findall(f"{QEMU_NS}override")]

    @property
    def disks_without_format(self):
        """Target devs of disks whose <driver type> is unset (libvirt would probe the format)."""
        return [d.find("target").get("dev", "?") if d.find("target") is not None else "?"
                for d in self._all("devices/disk")
                if d.find("source") is not None and
                (d.find("driver") is None or not d.find("driver").get("type"))]

    @property
    def writable_disks(self):
        """Target devs of the disks a guest writes (device 'disk' without <readonly/>)."""
        return [target_dev(d) for d in self._writable_disks()]

    @property
    def writable_disks_without_iotune(self):
        """Writable disks with no I/O limit in <iotune> (a guest may use all of the host's
        disk bandwidth)."""
        return [target_dev(d) for d in self._writable_disks()
                if not any((e.text or "").strip() not in ("", "0") for e in d.findall("iotune/*"))]

    def _writable_disks(self):
        return [d for d in self._all("devices/disk")
                if d.get("device", "disk") == "disk" and d.find("readonly") is None]

    @property
    def displays(self):
        """(type, listen address or socket, port, has password) of every VNC/SPICE display."""
        found = []
        for g in self._all("devices/graphics"):
            if g.get("type") not in ("vnc", "spice"):
                continue
            listen = g.find("listen")
            if listen is not None and listen.get("type") in ("socket", "none"):
                where = listen.get("type")
            elif listen is not None and listen.get("type") == "network":
                where = listen.get("address") or \
                    f"the address of network {listen.get('network', '?')!r}"
            else:
                where = (listen.get("address") if listen is not None else None) \
                    or g.get("listen") or ""
            found.append((g.get("type"), where, int(g.get("port", "-1")), bool(g.get("passwd"))))
        return found

    @property
    def host_devices(self):
        """<hostdev> elements and hostdev-backed interfaces: host hardware given to the guest."""
        found = [f"hostdev {h.get('type', '?')}" for h in self._all("devices/hostdev")]
        return found + ["interface type hostdev" for _ in
                        self._all("devices/interface[@type='hostdev']")]

    @property
    def disk_files(self):
        """[(what, path)] of the disks' images on the host ('read-only disk vdb', path)."""
        found = []
        for disk in self._all("devices/disk"):
            path = _disk_path(disk)
            kind = "read-only " if disk.find("readonly") is not None else ""
            if path:
                found.append((f"{kind}{disk.get('device', 'disk')} {target_dev(disk)}", path))
        return found

    @property
    def disks_never_given_back(self):
        """[(what, path)] of the read-only and shareable disks libvirt relabels for QEMU (no
        <source><seclabel relabel='no'/>): libvirt never gives such a disk its owner back.
        vmiso's own seed is not the template's, and is left out."""
        found = []
        for disk in self._all("devices/disk"):
            if disk.findtext("serial") == SEED_SERIAL:
                continue
            path = _disk_path(disk)
            shared = disk.find("readonly") is not None or disk.find("shareable") is not None
            if path and shared and not left_as_is(disk):
                found.append((f"{disk.get('device', 'disk')} {target_dev(disk)}", path))
        return found

    @property
    def host_files(self):
        """[(what, path)] of the files on the host the domain names, which libvirt labels for
        its QEMU: disk images, boot files, firmware variables and chardev or log files."""
        found = list(self.disk_files)
        for tag in ("kernel", "initrd", "dtb", "loader", "nvram"):
            path = (self.root.findtext(f"os/{tag}") or "").strip()
            if path:
                found.append((f"<os><{tag}>", path))
        for dev in self._all("devices/*"):
            source, log = dev.find("source"), dev.find("log")
            if dev.tag in CHARDEVS and dev.get("type") == "file" and source is not None \
                    and source.get("path"):
                found.append((f"<{dev.tag}> file", source.get("path")))
            if log is not None and log.get("file"):
                found.append((f"<{dev.tag}> log", log.get("file")))
        return list(dict.fromkeys(found))

    @property
    def cpu_quotas(self):
        """{element: quota in µs} of the <cputune> quotas set to a limit (a negative quota, or
        none, leaves that part of the guest unbounded)."""
        found = {}
        for name in ("global_quota", "quota", "emulator_quota"):
            value = self.root.findtext(f"cputune/{name}", "").strip()
            if value.lstrip("-").isdigit() and int(value) > 0:
                found[name] = int(value)
        return found

    @property
    def interfaces(self):
        return self._all("devices/interface")

    @property
    def tap_macs(self):
        """{the host-side device of each interface (<target dev>): the guest's MAC on it, lower
        case, '' where none is given}, as libvirt runs them."""
        found = {}
        for iface in self.interfaces:
            target, mac = iface.find("target"), iface.find("mac")
            if target is not None and target.get("dev"):
                found[target.get("dev")] = "" if mac is None else mac.get("address", "").lower()
        return found

    @property
    def tap_devices(self):
        """The host-side devices of the interfaces (<target dev>), as libvirt runs them."""
        return list(self.tap_macs)

    @staticmethod
    def interface_isolated(iface):
        port = iface.find("port")
        return port is not None and port.get("isolated") == "yes"

    @staticmethod
    def interface_filter(iface):
        ref = iface.find("filterref")
        return "" if ref is None else ref.get("filter", "")


def _disk_path(disk):
    """The host file or block device a disk reads; '' where it names none."""
    source = disk.find("source")
    return "" if source is None else source.get("file") or source.get("dev") or ""


def left_as_is(disk):
    """Whether a <disk>'s source tells libvirt to leave its file's owner as it is (<source>
    <seclabel model='dac' relabel='no'/>, the model DAC's where it names none)."""
    source = disk.find("source")
    return source is not None and any(
        label.get("relabel") == "no" and label.get("model", "dac") == "dac"
        for label in source.findall("seclabel"))


def target_dev(disk):
    """A <disk>'s target device ('vdb'), '?' where it names none."""
    target = disk.find("target")
    return target.get("dev", "?") if target is not None else "?"
