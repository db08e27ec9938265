"""What in a template would open the host it runs on to others, were it booted as written: raw
QEMU arguments (a monitor on TCP, anything QEMU can open), character devices on the network and
displays listening beyond loopback.

    host_exposures(Domain.from_string(open("templates/leaky.xml").read()))
    # ['raw QEMU arguments (qemu:arg -monitor, ...)', 'spice display listens on 0.0.0.0 ...', ...]

vmiso's own lab is a host of the run's own, where a leaky template may run to be judged; on
any other host such a template runs only when the user accepts it (--accept-exposing-template),
and then its displays listen on loopback alone (displays_on_loopback) and raw arguments run only
with --allow-raw-qemu. The verdicts judge the template as written either way.
"""

import xml.etree.ElementTree as ET

from helpers.template import rules
from helpers.template.domxml import CHARDEVS

NETWORK_CHARDEVS = ("tcp", "udp")
LOOPBACK = "127.0.0.1"


def host_exposures(dom):
    """One line per way the template, as written, would open its host to others."""
    raw = dom.qemu_passthrough
    found = [f"raw QEMU arguments ({', '.join(raw[:3])}{', ...' if len(raw) > 3 else ''})"] \
        if raw else []
    devices = dom.root.find("devices")
    found += [f"<{dev.tag} type='{dev.get('type')}'> on the network"
              for dev in (devices if devices is not None else ())
              if dev.tag in CHARDEVS and dev.get("type") in NETWORK_CHARDEVS]
    return found + rules.exposed_display(dom)


def displays_on_loopback(root):
    """Every VNC/SPICE display of the XML being made listens on loopback alone; one line per
    display changed, for the report."""
    changes = []
    for graphics in root.iter("graphics"):
        if graphics.get("type") not in ("vnc", "spice") or _local_only(graphics):
            continue
        where = graphics.get("listen") or "libvirt's default address"
        for listen in graphics.findall("listen"):
            graphics.remove(listen)
        graphics.set("listen", LOOPBACK)
        ET.SubElement(graphics, "listen", {"type": "address", "address": LOOPBACK})
        changes.append(f"<graphics type='{graphics.get('type')}'> listen {where} -> {LOOPBACK}: "
                       f"on a host not vmiso's own a display serves only the host itself")
    return changes


def _local_only(graphics):
    listens = graphics.findall("listen")
    if listens:
        return all(l.get("type") in ("socket", "none") or
                   (l.get("type") == "address" and rules.is_loopback(l.get("address", "")))
                   for l in listens)
    return rules.is_loopback(graphics.get("listen", ""))
