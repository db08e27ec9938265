"""A throwaway guest's MAC (helpers/vm/macs.py): drawn under 52:54:00, never one the host has,
with room for the MACs the template's other interfaces take after it."""

import itertools
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.template.domxml import Domain
from helpers.template.throwaway import Throwaway, instantiate
from helpers.vm.macs import NoFreeMac, domain_macs, family, free_mac, interface_macs

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def draws(*triples):
    """A `draw` for free_mac giving these 3-byte tails in turn."""
    tails = iter(triples)
    return lambda _: bytes(next(tails))


def test_a_domains_interface_macs_are_read_in_lower_case():
    xml = ("<domain><devices><interface type='network'><mac address='52:54:00:AB:CD:EF'/>"
           "</interface><interface type='user'><mac address='52:54:00:00:00:01'/></interface>"
           "<disk/></devices></domain>")
    assert domain_macs(xml) == {"52:54:00:ab:cd:ef", "52:54:00:00:00:01"}
    assert domain_macs("<domain><devices/></domain>") == set()


def test_the_hosts_interface_macs_are_its_non_empty_lines():
    text = "00:00:00:00:00:00\nFE:54:00:12:34:56\n\n52:54:00:aa:bb:cc\n"
    assert interface_macs(text) == {"00:00:00:00:00:00", "fe:54:00:12:34:56", "52:54:00:aa:bb:cc"}


def test_a_mac_family_counts_up_in_the_last_byte_and_wraps():
    assert family("52:54:00:12:34:fe", 3) == ["52:54:00:12:34:fe", "52:54:00:12:34:ff",
                                              "52:54:00:12:34:00"]
    assert family("52:54:00:12:34:56", 0) == []


def test_the_family_is_the_macs_instantiate_gives_the_interfaces(tmp_path):
    """macs.family and helpers/template/throwaway.py number a guest's interfaces alike."""
    dom = Domain.from_string((TEMPLATES / "hardened.xml").read_text())
    for kind in ("bridge", "user"):
        dom.root.find("devices").append(ET.fromstring(f"<interface type='{kind}'/>"))
    count = len(dom.root.findall("devices/interface"))
    spec = Throwaway(name="vmiso-m1", mac="52:54:00:12:34:fe", overlay=tmp_path / "o.qcow2",
                     seed=tmp_path / "seed.tar", network="vmiso-net", scratch_dir=tmp_path,
                     accelerator="kvm", share_dirs={"hostshare": tmp_path / "share"},
                     allow_raw_qemu=True)
    xml, _ = instantiate(dom, spec)
    assert domain_macs(xml) == set(family(spec.mac, count)) and count >= 3


def test_a_drawn_mac_skips_one_the_host_has():
    taken = {"52:54:00:00:00:01"}
    assert free_mac(taken, draw=draws((0, 0, 1), (0, 0, 2))) == "52:54:00:00:00:02"


def test_a_drawn_mac_leaves_room_for_the_templates_other_interfaces():
    taken = {"52:54:00:00:00:02"}
    assert free_mac(taken, count=2, draw=draws((0, 0, 1), (0, 0, 9))) == "52:54:00:00:00:09"


def test_a_host_whose_every_drawn_mac_is_taken_gets_one_line_naming_the_fix():
    with pytest.raises(NoFreeMac, match="were all taken on the host .*remove the domains"):
        free_mac({"52:54:00:00:00:01"}, draw=lambda _: bytes((0, 0, 1)), tries=5)


macs = st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)).map(
    lambda t: "52:54:00:" + ":".join(f"{b:02x}" for b in t))


@given(st.sets(macs, max_size=300), st.integers(0, 4), st.randoms(use_true_random=False))
def test_a_drawn_macs_family_is_never_on_the_host(taken, count, rng):
    mac = free_mac(taken, count, draw=rng.randbytes)
    assert re.fullmatch(r"52:54:00(:[0-9a-f]{2}){3}", mac)
    assert taken.isdisjoint(family(mac, count))


def test_free_mac_draws_no_more_than_its_tries():
    counter = itertools.count()
    with pytest.raises(NoFreeMac):
        free_mac({"52:54:00:00:00:00"}, draw=lambda _: (next(counter), bytes(3))[1], tries=7)
    assert next(counter) == 7
