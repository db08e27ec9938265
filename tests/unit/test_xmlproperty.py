"""Accessors declared as data (helpers/template/xmlproperty.py), read through Domain's own
declarations: what they name, and '' or their default where the XML leaves it out."""

from helpers.template.domxml import Domain
from helpers.template.xmlproperty import Each

XML = """<domain type='kvm'><name> web </name><cpu mode='custom'><model> qemu64 </model></cpu>
<devices><interface type='network'><model type='e1000'/></interface>
<interface type='network'/><graphics type='vnc'/><graphics type='spice'/>
<vsock/><vsock model='virtio-non-transitional'/></devices></domain>"""


def test_texts_and_attributes_read_what_they_name_and_nothing_where_absent():
    dom = Domain.from_string(XML)
    assert (dom.name, dom.cpu_model, dom.emulator) == (" web ", "qemu64", "")  # cpu_model strips
    assert (dom.virt_type, dom.cpu_mode, dom.cpu_match, dom.smbios_mode) == \
        ("kvm", "custom", "", "")


def test_each_reads_every_element_in_order_with_its_default_where_unset():
    dom = Domain.from_string(XML)
    assert dom.graphics_types == ["vnc", "spice"]
    assert dom.nic_models == ["e1000", ""]  # the second interface has no <model>
    assert dom.spice_copypaste == [""]  # the SPICE display has no <clipboard>
    assert dom.vsock_models == ["virtio", "virtio-non-transitional"]
    assert dom.sound_models == []


def test_a_declaration_read_on_the_class_is_the_declaration():
    assert isinstance(Domain.nic_models, Each) and Domain.nic_models.name == "nic_models"
