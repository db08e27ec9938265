"""A throwaway guest's MAC: drawn at random under QEMU's prefix 52:54:00, and never one the host
already has (an interface of any of its domains, running or defined, or one of its own), so
that a guest never takes over another's address or lease.

    taken = domain_macs(domain.XMLDesc(0)) | interface_macs(hypervisor.run("sh", "-c", READ))
    free_mac(taken, count=2)       # '52:54:00:3f:a0:9c': it and 52:54:00:3f:a0:9d are free

A guest of `count` interfaces uses the MAC drawn and the count - 1 after it in the last byte
(helpers/template/throwaway.py numbers them so; `family` is that numbering).
"""

import secrets
import xml.etree.ElementTree as ET

PREFIX = "52:54:00"
TRIES = 100
# The host's own interfaces' MACs, in one command; an interface that goes while it is read
# (another run's guest's tap) is no MAC to avoid, so a file that vanished is no failure.
READ = "cat /sys/class/net/*/address 2>/dev/null; true"


class NoFreeMac(Exception):
    """Every MAC drawn is taken on the host; the message names the fix."""


def domain_macs(xml):
    """The MACs of a domain XML's interfaces, in lower case.

    >>> domain_macs("<domain><devices><interface><mac address='52:54:00:AA:00:01'/>"
    ...             "</interface></devices></domain>")
    {'52:54:00:aa:00:01'}
    """
    return {mac.get("address", "").lower()
            for mac in ET.fromstring(xml).iterfind("devices/interface/mac")}


def interface_macs(text):
    """The MACs of /sys/class/net/*/address's lines, in lower case."""
    return {line.strip().lower() for line in text.splitlines() if line.strip()}


def family(mac, count):
    """The MACs of a guest of `count` interfaces whose first has `mac`: the last byte counts up,
    wrapping at 256."""
    head, last = mac[:-2], int(mac[-2:], 16)
    return [f"{head}{(last + index) % 256:02x}" for index in range(count)]


def free_mac(taken, count=1, draw=secrets.token_bytes, tries=TRIES):
    """A random MAC under PREFIX whose family of `count` is wholly outside `taken`; NoFreeMac
    after `tries` draws that all collided."""
    for _ in range(tries):
        mac = PREFIX + "".join(f":{byte:02x}" for byte in draw(3))
        if taken.isdisjoint(family(mac, count)):
            return mac
    raise NoFreeMac(f"{tries} random MACs under {PREFIX} were all taken on the host "
                    f"({len(taken)} MACs in use there); remove the domains it no longer needs")
