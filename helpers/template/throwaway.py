"""Turn a template into the XML of one throwaway guest, keeping its hardware shape.

    xml, adaptations = instantiate(template, Throwaway(name=..., mac=..., overlay=..., ...))

Only what a throwaway guest needs is substituted: name, UUID, MAC, disk sources (the first disk
becomes the qcow2 overlay, other disks blank scratch files), the network source, share sources,
the accelerator when KVM is unusable, and everything that names the host (helpers/template/
confine.py). Each change that alters what the guest runs on is returned as an adaptation, for
the report. Static verdicts are computed on the template as given.
"""

import copy
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from helpers.template.confine import confine
from helpers.template.exposure import displays_on_loopback
from helpers.template.domxml import SEED_SERIAL, Domain, TemplateError, left_as_is, target_dev


@dataclass
class Throwaway:
    name: str
    mac: str
    overlay: Path
    seed: Path
    network: str
    scratch_dir: Path
    accelerator: str  # kvm or tcg
    share_dirs: dict = field(default_factory=dict)  # share tag -> host folder
    memory_limits: bool = True  # whether the host can apply <memtune> (see hostcaps)
    mark: object = None  # a runmark.RunMark: which run made this guest
    direct_boot: object = None  # a directboot.DirectBoot, for the probe image on BIOS templates
    # path -> size of the blank disks instantiate() points at; the caller creates them
    scratch_files: dict = field(default_factory=dict)
    # those whose disk tells libvirt to leave the file's owner as it is (<source><seclabel
    # model='dac' relabel='no'/>): the caller gives them QEMU's user, as the host's operator
    # gives theirs
    unrelabelled: set = field(default_factory=set)
    security_models: tuple = ("dac",)  # libvirt's security drivers on the host (capabilities)
    allow_raw_qemu: bool = False  # boot <qemu:commandline> and <qemu:override> as given
    displays_on_loopback: bool = False  # a host not vmiso's own: displays serve it alone
    host_qemu: object = None  # a machines.HostQemu: the emulators and machines the host has
    boot_memory_mib: int = 0  # the least memory the guest's image boots in (0: the template's)


def instantiate(template: Domain, spec: Throwaway):
    root = copy.deepcopy(template.root)
    adaptations = []
    _set_text(root, "name", spec.name)
    _set_text(root, "uuid", str(uuid.uuid4()))
    if spec.host_qemu is not None:
        adaptations += spec.host_qemu.fit(root)
    if spec.mark is not None:
        _add_mark(root, spec.mark)
    if spec.accelerator == "tcg" and root.get("type") != "qemu":
        adaptations.append(f"domain type {root.get('type')!r} -> 'qemu' (KVM unusable: TCG)")
        root.set("type", "qemu")
        cpu = root.find("cpu")
        if cpu is not None and cpu.get("mode") in ("host-passthrough", "host-model"):
            adaptations.append(f"cpu mode {cpu.get('mode')!r} removed, topology and NUMA kept "
                               f"(host CPU models need KVM)")
            _drop_host_cpu_model(cpu)
    if spec.direct_boot is None:
        adaptations += memory_for_boot(root, spec.boot_memory_mib)
    memtune = root.find("memtune")
    if memtune is not None and not spec.memory_limits:
        root.remove(memtune)
        adaptations.append("<memtune> removed: libvirt cannot apply memory limits on this host "
                           "(it lacks CAP_SYS_RESOURCE to set QEMU's locked-memory limit)")
    devices = root.find("devices")
    if devices is None:
        raise TemplateError("the template has no <devices> element")
    adaptations += confine(root, spec.scratch_dir, spec.allow_raw_qemu)
    if spec.displays_on_loopback:
        adaptations += displays_on_loopback(root)
    if spec.direct_boot is not None:
        _boot_directly(root, spec.direct_boot)
    adaptations += _substitute_disks(devices, spec)
    adaptations += _substitute_interfaces(devices, spec)
    adaptations += _substitute_shares(devices, spec)
    _add_seed(devices, spec)
    _log_console(devices, spec)
    return ET.tostring(root, encoding="unicode"), adaptations


def memory_for_boot(root, floor_mib):
    """Raise the guest's memory to `floor_mib` where the template gives less (and its memtune
    limits by as much, so they bound the same overhead); [the change], or []."""
    memory = root.find("memory")
    have = _mib(memory)
    if not floor_mib or have is None or have >= floor_mib or root.find("cpu/numa") is not None:
        return []
    raised = floor_mib - have
    for element in [memory, root.find("currentMemory")] + root.findall("memtune/*"):
        value = _mib(element)
        if value is not None:
            element.set("unit", "MiB")
            element.text = str(min(value, have) + raised if element.tag == "currentMemory"
                               else value + raised)
    return [f"<memory> {have} MiB -> {floor_mib} MiB (memtune limits raised as much): the probe "
            f"guest's UEFI boot loader cannot load its kernel in less"]


UNITS_MIB = {"b": 2 ** -20, "bytes": 2 ** -20, "k": 2 ** -10, "kib": 2 ** -10, "kb": 1e3 / 2 ** 20,
             "m": 1, "mib": 1, "mb": 1e6 / 2 ** 20, "g": 2 ** 10, "gib": 2 ** 10,
             "gb": 1e9 / 2 ** 20, "t": 2 ** 20, "tib": 2 ** 20, "tb": 1e12 / 2 ** 20}


def _mib(element):
    """An element's size in MiB (libvirt's units, KiB by default); None where unset or unread."""
    if element is None or not (element.text or "").strip().isdigit():
        return None
    scale = UNITS_MIB.get(element.get("unit", "KiB").lower())
    return None if scale is None else int(int(element.text.strip()) * scale)


def _add_mark(root, mark):
    """The run's mark goes into <metadata>, beside whatever the template keeps there."""
    metadata = root.find("metadata")
    if metadata is None:
        metadata = mark.metadata()
        root.insert(2, metadata)
    else:
        metadata.extend(list(mark.metadata()))


def _boot_directly(root, boot):
    """The kernel and initramfs through fw_cfg (see helpers/vm/directboot.py); devices untouched."""
    os_ = root.find("os")
    if os_ is None:
        os_ = ET.SubElement(root, "os")
    at = 1 if os_.find("type") is not None else 0
    for tag, text in (("kernel", str(boot.kernel)), ("initrd", str(boot.initrd)),
                      ("cmdline", boot.cmdline)):
        element = ET.Element(tag)
        element.text = text
        os_.insert(at, element)
        at += 1


def _drop_host_cpu_model(cpu):
    for attribute in ("mode", "check", "migratable"):
        cpu.attrib.pop(attribute, None)
    for child in cpu.findall("model") + cpu.findall("feature") + cpu.findall("cache"):
        cpu.remove(child)


def _set_text(root, tag, text):
    node = root.find(tag)
    if node is None:
        node = ET.SubElement(root, tag)
    node.text = text


def _substitute_disks(devices, spec):
    """The first disk boots the probe image's overlay, a CD-ROM is emptied, every other disk
    gets a scratch file; the labels of a model the host lacks are dropped (what is returned
    says so)."""
    disks = [d for d in devices.findall("disk") if d.get("device", "disk") == "disk"]
    if not disks:
        raise TemplateError("the template has no <disk device='disk'> to boot the guest image from")
    changes = []
    for index, disk in enumerate(devices.findall("disk")):
        if disk is disks[0]:
            _point_disk(disk, spec.overlay, "qcow2")
            disk.find("driver").set("type", "qcow2")
        elif disk.get("device") == "cdrom":
            source = disk.find("source")
            if source is not None:
                disk.remove(source)
        else:
            scratch = spec.scratch_dir / f"scratch{index}.img"
            spec.scratch_files[scratch] = 1474560 if disk.get("device") == "floppy" else 1 << 20
            labels, lacking = _scratch_labels(disk, spec.security_models)
            _point_disk(disk, scratch, "raw", labels)
            if left_as_is(disk):
                spec.unrelabelled.add(scratch)
            changes += [f"disk {target_dev(disk)}: its "
                        f"<source><seclabel model='{model}'> dropped: the host's libvirt has no "
                        f"{model} security driver, and would refuse the guest"
                        for model in lacking]
    return changes


def _scratch_labels(disk, models):
    """([the <source> labels a disk's scratch copy keeps], [models the host lacks]): how
    libvirt hands the file to QEMU (ESC-09 and ESC-10 judge it), for the security drivers the
    host has (a label without a model is DAC's)."""
    source = disk.find("source")
    labels = [] if source is None else source.findall("seclabel")
    kept = [label for label in labels if label.get("model", "dac") in models]
    return kept, sorted({label.get("model", "dac") for label in labels if label not in kept})


def _point_disk(disk, path, fmt, labels=()):
    """Point a disk at a file of format `fmt`, with the source's `labels`; a <driver type> the
    template left unset stays unset (DEV-03 judges it), except on the boot disk, which must be
    read as the qcow2 overlay."""
    disk.set("type", "file")
    for old in disk.findall("source") + disk.findall("backingStore"):
        disk.remove(old)
    source = ET.Element("source", file=str(path))
    source.extend(labels)
    disk.insert(1, source)
    driver = disk.find("driver")
    if driver is None:
        driver = ET.SubElement(disk, "driver", name="qemu")
    if driver.get("type"):
        driver.set("type", fmt)


# Interface types whose source is a device, a socket or a program of the host.
HOST_INTERFACES = ("hostdev", "direct", "vdpa", "vhostuser", "ethernet", "server", "client",
                   "mcast", "udp")
# What an interface may name on the host: a tap or macvtap name, scripts it runs, device paths,
# an Open vSwitch port, routes and addresses set on the host side, passt's log and port forwards.
HOST_SIDE = ("target", "script", "downscript", "backend", "virtualport", "teaming", "ip", "route",
             "portForward")
GUEST_DRIVERS = ("qemu", "vhost")


def _substitute_interfaces(devices, spec):
    """Every interface joins the lab network, except user-mode (slirp) ones, which stay what
    they are (NET-06 tests them). The first on the network gets `spec.mac`: its lease is the
    guest's address. Returns the adaptations worth reporting."""
    changes = []
    interfaces = devices.findall("interface")
    ordered = [i for i in interfaces if i.get("type") != "user"] + \
        [i for i in interfaces if i.get("type") == "user"]
    for index, iface in enumerate(ordered):
        changes += _strip_host_side(iface, index)
        for old in iface.findall("source") + iface.findall("mac"):
            iface.remove(old)
        if iface.get("type") != "user":
            iface.set("type", "network")
            iface.insert(0, ET.Element("source", network=spec.network))
        mac = f"{spec.mac[:-2]}{(int(spec.mac[-2:], 16) + index) % 256:02x}"
        iface.insert(0, ET.Element("mac", address=mac))
    return changes


def _strip_host_side(iface, index):
    kind = iface.get("type", "")
    changes = []
    if kind in HOST_INTERFACES:
        changes.append(f"interface {index + 1} <interface type='{kind}'> -> the run's network: "
                       f"no host device, socket or program backs it")
    named = [child for child in iface if child.tag in HOST_SIDE]
    driver = iface.find("driver")
    if driver is not None and driver.get("name") and driver.get("name") not in GUEST_DRIVERS:
        named.append(driver)
    for child in named:
        iface.remove(child)
    if named:
        changes.append(f"interface {index + 1}: "
                       f"{', '.join(f'<{c.tag}>' for c in named)} removed (host side)")
    return changes


def _substitute_shares(devices, spec):
    """Every <filesystem> exports the guest's own share folder, whatever it named on the host
    (a folder, an image file, a block device, a virtiofsd socket); a virtiofsd binary of the
    template's choosing is never run."""
    changes = []
    for fs in devices.findall("filesystem"):
        target = fs.find("target")
        tag = "" if target is None else target.get("dir", "")
        source = fs.find("source")
        if tag not in spec.share_dirs:
            devices.remove(fs)
            changes.append(f"<filesystem> {tag or '(no target)'}: {_source_text(source)} "
                           f"removed: the guest has no folder of its own for it")
            continue
        if fs.get("type", "mount") != "mount" or (source is not None and source.get("socket")):
            changes.append(f"<filesystem type='{fs.get('type', 'mount')}'> {tag}: "
                           f"{_source_text(source)} -> a folder of the guest's own")
        if source is not None:
            fs.remove(source)
        fs.set("type", "mount")
        fs.insert(0, ET.Element("source", dir=str(spec.share_dirs[tag])))
        binary = fs.find("binary")
        if binary is not None and binary.get("path"):
            changes.append(f"<filesystem> {tag}: <binary path='{binary.get('path')}'> -> "
                           f"libvirt's own virtiofsd")
            binary.attrib.pop("path")
    return changes


def _source_text(source):
    if source is None:
        return "(no source)"
    return next(iter(source.attrib.values()), "(no source)")


def _add_seed(devices, spec):
    """The probe guest's keys: a tar archive on a read-only disk with serial vmiso-seed."""
    disk = ET.SubElement(devices, "disk", type="file", device="disk")
    ET.SubElement(disk, "driver", name="qemu", type="raw")
    ET.SubElement(disk, "source", file=str(spec.seed))
    ET.SubElement(disk, "target", dev="vdz", bus="virtio")
    ET.SubElement(disk, "readonly")
    ET.SubElement(disk, "serial").text = SEED_SERIAL


def _log_console(devices, spec):
    """The guest's serial console into console.log (the tail goes into boot errors)."""
    port = devices.find("serial")
    if port is None:
        port = devices.find("console")  # libvirt backs a lone <console> with a serial port
    if port is not None and port.find("log") is None:
        ET.SubElement(port, "log", file=str(spec.scratch_dir / "console.log"))
