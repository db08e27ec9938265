"""Static analysis of a domain XML: for each control, the findings that break it.

    >>> findings(Domain.from_string(open("templates/leaky.xml").read()))["HV-01"]
    ["machine 'pc' is i440fx, which always has an isa-fdc", 'floppy disk fda']

An empty list means the XML gives the control nothing to object to. The same module names the
QEMU device types (as `info qtree` prints them) that count as each control's attack surface.
"""

import re

CLIPBOARD_CHANNEL_TYPES = ("spicevmc", "qemu-vdagent")
CLIPBOARD_PORT = "com.redhat.spice.0"
WEBDAV_PORT = "org.spice-space.webdav.0"

# QEMU device types (info qtree "dev:" names) that are each control's attack surface.
QTREE_SURFACE = {
    "HV-01": re.compile(r"^(isa-fdc|sysbus-fdc|SUNW,fdtwo)$"),
    "HV-02": re.compile(r"(usb|xhci|uhci|ehci|ohci)", re.I),
    "SHR-01": re.compile(r"^(virtio-9p-.*|vhost-user-fs-.*)$"),
}


def floppy(dom):
    found = []
    if dom.is_i440fx:
        found.append(f"machine {dom.machine!r} is i440fx, which always has an isa-fdc")
    found += [f"floppy disk {dev}" for dev in dom.floppy_disks]
    return found


def usb(dom):
    models = dom.usb_controller_models
    found = [] if models else ["no <controller type='usb'>: libvirt adds a default USB controller"]
    found += [f"USB controller model {m or '(libvirt default)'}" for m in models if m != "none"]
    return found + [f"USB device: {d}" for d in dom.usb_devices]


def shares(dom):
    found = [f"{fs.kind} share of {fs.source or '?'} as tag {fs.tag!r}" for fs in dom.filesystems]
    return found + [f"{ch.kind} channel {ch.target_name}" for ch in dom.channels
                    if ch.target_name == WEBDAV_PORT]


def clipboard(dom):
    found = [f"{ch.kind} channel {ch.target_name or '(unnamed)'}"
             + (f" with copypaste={ch.copypaste}" if ch.copypaste else "")
             for ch in dom.channels
             if ch.kind in CLIPBOARD_CHANNEL_TYPES or ch.target_name == CLIPBOARD_PORT]
    found += [f"SPICE graphics with copypaste={setting or 'unset (on)'}"
              for setting in dom.spice_copypaste if setting != "no"]
    return found + [f"SPICE graphics with filetransfer={setting or 'unset (on)'}"
                    for setting in dom.spice_filetransfer if setting != "no"]


def host_filter(dom):
    return [f"interface {i + 1} ({iface.get('type')}) has no <filterref>"
            for i, iface in enumerate(dom.interfaces) if not dom.interface_filter(iface)]


STATIC = {"HV-01": floppy, "HV-02": usb, "SHR-01": shares, "SHR-02": clipboard,
          "NET-01": host_filter}


def findings(dom):
    return {control: rule(dom) for control, rule in STATIC.items()}


def qtree_surface(control, devices):
    """The QEMU devices in `devices` that are `control`'s attack surface."""
    pattern = QTREE_SURFACE[control]
    return sorted(d for d in devices if pattern.search(d))
