"""What would open a real host to others (helpers/template/exposure.py), and the throwaway's
displays put on loopback there."""

import xml.etree.ElementTree as ET
from pathlib import Path

from helpers.template.domxml import Domain
from helpers.template.exposure import displays_on_loopback, host_exposures

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def domain(devices, extra=""):
    return Domain.from_string(f"<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/"
                              f"domain/qemu/1.0'><name>t</name><devices>{devices}</devices>"
                              f"{extra}</domain>")


def test_the_leaky_template_opens_its_host_three_ways_and_the_hardened_none():
    leaky = host_exposures(Domain.from_string((TEMPLATES / "leaky.xml").read_text()))
    assert leaky[0].startswith("raw QEMU arguments (qemu:arg -monitor, qemu:arg telnet:")
    assert [e.split(" listens")[0] for e in leaky[1:]] == ["spice display", "vnc display"]
    assert host_exposures(Domain.from_string((TEMPLATES / "hardened.xml").read_text())) == []


def test_a_character_device_on_the_network_opens_the_host():
    dom = domain("<serial type='tcp'><source mode='bind' host='0.0.0.0' service='4555'/>"
                 "</serial><console type='pty'/>")
    assert host_exposures(dom) == ["<serial type='tcp'> on the network"]


def test_displays_beyond_loopback_move_to_it_and_those_on_it_stay():
    dom = domain("<graphics type='vnc' listen='0.0.0.0'/>"
                 "<graphics type='spice'><listen type='network' network='default'/></graphics>"
                 "<graphics type='vnc' listen='127.0.0.1'/>"
                 "<graphics type='spice'><listen type='socket'/></graphics>")
    root = dom.root
    changes = displays_on_loopback(root)
    assert [c.split(":")[0] for c in changes] == [
        "<graphics type='vnc'> listen 0.0.0.0 -> 127.0.0.1",
        "<graphics type='spice'> listen libvirt's default address -> 127.0.0.1"]
    after = Domain.from_string(ET.tostring(root, encoding="unicode"))
    assert [where for _, where, _, _ in after.displays] == ["127.0.0.1", "127.0.0.1",
                                                            "127.0.0.1", "socket"]
    assert host_exposures(after) == [] and displays_on_loopback(root) == []
