"""Accessors declared as data (helpers/template/xmlproperty.py) read what they name, and '' or
their default where the XML leaves it out."""

import xml.etree.ElementTree as ET

from helpers.template.xmlproperty import Attribute, Each, Text

XML = """<domain type='kvm'><name>web</name><cpu mode='custom'><model> qemu64 </model></cpu>
<devices><interface type='network'><model type='e1000'/></interface>
<interface type='network'/><vsock/><vsock model='virtio-non-transitional'/></devices></domain>"""


class Read:
    name = Text("name")
    cpu_model = Text("cpu/model", strip=True)
    cpu_model_as_written = Text("cpu/model")
    emulator = Text("devices/emulator")
    virt_type = Attribute(".", "type")
    cpu_mode = Attribute("cpu", "mode")
    cpu_match = Attribute("cpu", "match")
    smbios_mode = Attribute("os/smbios", "mode")
    interface_types = Each("devices/interface", "type")
    nic_models = Each("devices/interface", "type", child="model")
    vsock_models = Each("devices/vsock", "model", default="virtio")
    sound_models = Each("devices/sound", "model")

    def __init__(self, text):
        self.root = ET.fromstring(text)


def test_texts_and_attributes_read_what_they_name_and_nothing_where_absent():
    dom = Read(XML)
    assert (dom.name, dom.cpu_model, dom.cpu_model_as_written, dom.emulator) == \
        ("web", "qemu64", " qemu64 ", "")
    assert (dom.virt_type, dom.cpu_mode, dom.cpu_match, dom.smbios_mode) == \
        ("kvm", "custom", "", "")


def test_each_reads_every_element_in_order_with_its_default_where_unset():
    dom = Read(XML)
    assert dom.interface_types == ["network", "network"]
    assert dom.nic_models == ["e1000", ""]  # the second interface has no <model>
    assert dom.vsock_models == ["virtio", "virtio-non-transitional"]
    assert dom.sound_models == []


def test_a_declaration_read_on_the_class_is_the_declaration():
    assert isinstance(Read.nic_models, Each) and Read.nic_models.name == "nic_models"
