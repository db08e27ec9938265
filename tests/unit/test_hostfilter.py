"""The shipped nwfilter file is the filter vmiso defines, for libvirt's stock default network."""

from pathlib import Path
from xml.etree import ElementTree as ET

from helpers.hostconfig.hostfilter import NAME, no_host_access_filter

SHIPPED = Path(__file__).resolve().parents[2] / "nwfilters" / f"{NAME}.xml"


def test_the_shipped_file_is_the_filter_for_the_default_network():
    assert SHIPPED.read_text() == no_host_access_filter(["192.168.122.1", "169.254.169.254"])


def test_every_host_address_gets_a_drop_rule_after_its_dhcp_accept():
    root = ET.fromstring(no_host_access_filter(["10.0.0.1", "10.0.1.1"]))
    drops = [r.find("ip").get("dstipaddr") for r in root.findall("rule")
             if r.get("action") == "drop" and r.find("ip") is not None]
    accepts = {r.find("ip").get("dstipaddr"): int(r.get("priority"))
               for r in root.findall("rule") if r.get("action") == "accept"}
    assert drops == ["10.0.0.1", "10.0.1.1"]
    assert all(accepts[a] < -950 for a in drops)  # DHCP first, then the drop
    assert root.find("filterref").get("filter") == "clean-traffic"
