"""The device model (helpers/template/expansion.py) against libvirt's own schema of the domain
XML on this machine: every element the schema allows under <devices> either makes a device the
model knows, or one HV-09 names as a device vmiso does not model, or is one of the few that make
no QEMU device (expansion.NO_DEVICE, each with its reason).

No guest, no lab: it reads one file. It lives here rather than in tests/unit because libvirt's
schemas come with a Debian package (libvirt0, which libvirt-daemon-system brings: `make test`
installs it, `make unit` runs without any), and a missing schema fails it rather than skipping."""

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from helpers.template.domxml import Domain
from helpers.template.expansion import NO_DEVICE, qemu_devices

SCHEMA = Path("/usr/share/libvirt/schemas/domaincommon.rng")
RNG = "{http://relaxng.org/ns/structure/1.0}"


def device_elements(path):
    """The names of the elements the schema allows as children of <devices>: what its
    <define name="devices"> and the definitions it references hold, without descending into
    the elements themselves."""
    defines = {}
    for define in ET.parse(path).getroot().iter(f"{RNG}define"):
        defines.setdefault(define.get("name"), []).append(define)
    names, seen = set(), set()
    pending = list(defines["devices"][0].find(f"{RNG}element"))
    while pending:
        node = pending.pop()
        if node.tag == f"{RNG}element":
            names.add(node.get("name"))
        elif node.tag == f"{RNG}ref" and node.get("name") not in seen:
            seen.add(node.get("name"))
            pending += [child for define in defines[node.get("name")] for child in define]
        elif node.tag != f"{RNG}ref":
            pending += list(node)
    return names


@pytest.fixture(scope="module")
def schema_elements():
    if not SCHEMA.is_file():
        pytest.fail(f"{SCHEMA} is missing: libvirt's schemas come with Debian's libvirt0 "
                    f"(libvirt-daemon-system in scripts/debian-packages.txt brings it)")
    return device_elements(SCHEMA)


def answered(tag):
    """Whether a bare <tag/> in <devices> makes a device, known or named as unknown."""
    dom = Domain.from_string(
        "<domain type='kvm'><name>s</name><os><type arch='x86_64' machine='q35'>hvm</type>"
        f"</os><devices><{tag}/></devices></domain>")
    element = dom.root.find(f"devices/{tag}")
    return any(device.element is element for device in qemu_devices(dom))


def test_the_walk_finds_the_device_elements(schema_elements):
    assert {"disk", "controller", "interface", "video", "memory", "iommu"} <= schema_elements


def test_every_device_element_is_modelled_or_named_as_unmodelled(schema_elements):
    silent = sorted(tag for tag in schema_elements - set(NO_DEVICE) if not answered(tag))
    assert silent == [], f"<devices> elements of libvirt's schema the expansion leaves out in " \
                         f"silence (model them, or say in NO_DEVICE why they make none): {silent}"


def test_each_element_said_to_make_no_device_is_in_the_schema(schema_elements):
    assert set(NO_DEVICE) <= schema_elements
