"""Keep the throwaway guest off the host: nothing a template names on the host is used as given.

    adaptations = confine(root, scratch_dir, allow_raw_qemu=False)   # root: the XML being made

A template is user input. Everything in it that names a file, a device, a socket or a driver of
the host the guest runs on is pointed into the guest's own scratch folder or removed, and each
change is returned as one line for the report:

- character devices (serial, parallel, console, channel) on files, pipes, host devices, unix
  sockets or the network, and every <log file>: files in scratch, or a channel's socket in
  libvirt's own folder for the guest (QEMU's user cannot make one in scratch);
- host hardware: <hostdev> of every kind, <smartcard> other than SPICE's, <redirdev> over TCP,
  <input> passthrough/evdev, <shmem>, a passthrough <tpm>: removed, or the TPM emulated;
  an <rng> reads /dev/urandom;
- files: <os> kernel, initrd and dtb (the probe guest boots its own), a writable <loader>,
  <nvram>, a file-backed <memoryBacking>, a display's socket or an audio backend;
- what runs on the host: <qemu:commandline>/<qemu:override> (unless allow_raw_qemu), an
  interface's <script>, a virtiofsd <binary path>, a <resource> partition, a fixed vsock CID.

Disks, interfaces and share sources are substituted in throwaway.py; static verdicts always
judge the template as given.
"""

import xml.etree.ElementTree as ET

from helpers.template.domxml import CHARDEVS, QEMU_NS, Domain

# Backends that reach no host file, device or address: kept as they are.
SAFE_CHARDEV_TYPES = ("pty", "null", "vc", "stdio", "spicevmc", "spiceport", "qemu-vdagent")
SPICE_SMARTCARD = "spicevmc"
HOST_INPUTS = ("passthrough", "evdev")
HOST_AUDIO = ("alsa", "coreaudio", "jack", "oss", "pulseaudio", "sdl", "pipewire", "dbus", "file")
URANDOM = "/dev/urandom"


def confine(root, scratch, allow_raw_qemu=False):
    devices = root.find("devices")
    changes = (_chardevs(devices, scratch) + _host_hardware(devices) + _rng(devices)
               + _tpm(devices) + _displays_and_audio(devices) + _boot_files(root)
               + _uefi_variables(root, scratch) + _memory_backing(root) + _resource(root)
               + _vsock(root))
    return changes if allow_raw_qemu else changes + _raw_qemu(root)


def _chardevs(devices, scratch):
    changes = []
    console = devices.find("serial")
    if console is None:
        console = devices.find("console")  # the guest's console: its log is console.log
    for index, dev in enumerate(e for e in devices if e.tag in CHARDEVS):
        kind = dev.get("type", "pty")
        source = dev.find("source")
        label = f"<{dev.tag} type='{kind}'>"
        if kind == "unix" and dev.tag == "channel":
            if source is not None and source.get("path"):
                changes.append(f"{label} socket {source.get('path')} -> one libvirt makes in "
                               f"its own folder for the guest")
                source.attrib = {"mode": "bind"}
        elif kind not in SAFE_CHARDEV_TYPES:
            path = scratch / f"{dev.tag}{index}.out"
            changes.append(f"{label} {_where(source)} -> file {path}")
            _make_file_chardev(dev, path)
        log = dev.find("log")
        if log is not None and log.get("file"):
            path = scratch / ("console.log" if dev is console else f"{dev.tag}{index}.log")
            changes.append(f"<{dev.tag}> <log file> {log.get('file')} -> {path}")
            log.set("file", str(path))
            log.attrib.pop("append", None)
    return changes


def _where(source):
    if source is None:
        return "(no source)"
    return source.get("path") or ":".join(filter(None, (source.get("host"),
                                                        source.get("service")))) or "(no path)"


def _make_file_chardev(dev, path):
    dev.set("type", "file")
    for old in dev.findall("source") + dev.findall("protocol") + dev.findall("reconnect"):
        dev.remove(old)
    source = dev.makeelement("source", {"path": str(path)})
    dev.insert(0, source)


def _host_hardware(devices):
    changes = []
    for element in list(devices):
        why = _host_hardware_reason(element)
        if why:
            devices.remove(element)
            changes.append(f"{_describe(element)} removed: {why}")
    return changes


def _host_hardware_reason(element):
    kind, mode = element.get("type", ""), element.get("mode", "")
    if element.tag == "hostdev":
        return "host hardware is never given to a throwaway guest (a managed PCI device would " \
               "be unbound from its host driver)"
    if element.tag == "smartcard" and not (mode == "passthrough" and kind == SPICE_SMARTCARD):
        return "it reads the host's smartcard reader, certificates or a TCP peer"
    if element.tag == "redirdev" and kind != "spicevmc":
        return "it connects to a USB redirection server from the host"
    if element.tag == "input" and kind in HOST_INPUTS:
        return "it grabs a host input device"
    if element.tag == "shmem":
        return "it maps shared memory (or a server socket) other host processes use"
    return ""


def _describe(element):
    attributes = " ".join(f"{k}='{element.get(k)}'" for k in ("type", "mode", "name", "model")
                          if element.get(k))
    return f"<{element.tag}{' ' + attributes if attributes else ''}>"


def _rng(devices):
    changes = []
    for rng in devices.findall("rng"):
        backend = rng.find("backend")
        if backend is None or backend.get("model") == "builtin":
            continue
        if backend.get("model") == "random" and (backend.text or URANDOM).strip() == URANDOM:
            continue
        named = (backend.text or "").strip() or _where(backend.find("source"))
        changes.append(f"<rng> backend {backend.get('model')} {named} -> random {URANDOM}")
        backend.attrib.clear()
        backend.set("model", "random")
        for child in list(backend):
            backend.remove(child)
        backend.text = URANDOM
    return changes


def _tpm(devices):
    changes = []
    for tpm in devices.findall("tpm"):
        backend = tpm.find("backend")
        if backend is None:
            continue
        if backend.get("type") == "passthrough":
            changes.append("<tpm> passthrough of the host's TPM -> an emulated TPM 2.0 (swtpm)")
            tpm.remove(backend)
            tpm.append(tpm.makeelement("backend", {"type": "emulator", "version": "2.0"}))
            continue
        for child in backend.findall("source") + backend.findall("encryption"):
            changes.append(f"<tpm> emulator <{child.tag}> removed: the throwaway TPM's state is "
                           f"libvirt's own, new and unencrypted")
            backend.remove(child)
    return changes


def _displays_and_audio(devices):
    changes = []
    for listen in devices.findall("graphics/listen[@socket]"):
        changes.append(f"<graphics> socket {listen.get('socket')} -> one libvirt makes in its "
                       f"own folder for the guest")
        listen.attrib.pop("socket")
    for audio in devices.findall("audio"):
        if audio.get("type") in HOST_AUDIO:
            changes.append(f"<audio type='{audio.get('type')}'> -> type 'none': it plays into "
                           f"the host's sound system or a host file")
            audio.attrib = {"id": audio.get("id", "1"), "type": "none"}
            for child in list(audio):
                audio.remove(child)
    return changes


def _boot_files(root):
    os_ = root.find("os")
    if os_ is None:
        return []
    changes = []
    for tag in ("kernel", "initrd", "dtb", "cmdline"):
        element = os_.find(tag)
        if element is not None:
            os_.remove(element)
            changes.append(f"<os><{tag}> {element.text or ''} removed: the probe guest boots "
                           f"its own kernel")
    loader = os_.find("loader")
    if loader is not None and loader.text and loader.get("readonly") == "no":
        changes.append(f"<loader readonly='no'> {loader.text.strip()}: read-only (QEMU would "
                       f"write into the host's firmware file)")
        loader.set("readonly", "yes")
    return changes


def _uefi_variables(root, scratch):
    """UEFI variables live in the guest's folder, made from the firmware's template: never a
    production guest's variables file, nor one in libvirt's nvram folder, where a transient
    guest's is never removed."""
    os_ = root.find("os")
    if os_ is None:
        return []
    path = scratch / "nvram_VARS.fd"
    nvram = os_.find("nvram")
    if nvram is None:
        if Domain(root).uses_uefi:
            ET.SubElement(os_, "nvram").text = str(path)
        return []
    source = nvram.find("source")
    named = (nvram.text or "").strip() or ("" if source is None else source.get("file", ""))
    for child in list(nvram):
        nvram.remove(child)
    nvram.attrib.pop("type", None)
    nvram.text = str(path)
    return [f"<nvram> {named} -> {path}, made from the firmware's template"] if named else []


def _memory_backing(root):
    source = root.find("memoryBacking/source")
    if source is None or source.get("type") != "file":
        return []
    root.find("memoryBacking").remove(source)
    return ["<memoryBacking><source type='file'> removed: guest memory is anonymous, not a file "
            "in the host's memory folder"]


def _resource(root):
    resource = root.find("resource")
    if resource is None:
        return []
    root.remove(resource)
    return ["<resource> removed: the guest's cgroup partition is libvirt's default, no host "
            "partition is made"]


def _vsock(root):
    cid = root.find("devices/vsock/cid")
    if cid is None or cid.get("auto") == "yes":
        return []
    changes = [f"<vsock> CID {cid.get('address')} -> assigned by libvirt (a fixed CID belongs "
               f"to another guest of the host)"]
    cid.attrib = {"auto": "yes"}
    return changes


def _raw_qemu(root):
    changes = []
    for tag in ("commandline", "override"):
        for element in root.findall(f"{QEMU_NS}{tag}"):
            root.remove(element)
            changes.append(f"<qemu:{tag}> removed: raw QEMU arguments run only with "
                           f"--allow-raw-qemu (HV-08 judges them as given)")
    return changes
