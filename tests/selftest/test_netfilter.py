"""Which interfaces' traffic filters hold only once libvirt has learned the guest's address.

The filters are the ones this host's libvirt ships (clean-traffic and what it includes) and the
lab's own vmiso-no-host-access, looked up by name as libvirt would answer."""

import xml.etree.ElementTree as ET
from pathlib import Path

import libvirt
import pytest

from helpers.hostconfig import netfilter
from helpers.hostconfig.hostfilter import no_host_access_filter
from helpers.lab.labconfig import BUILTIN_FILTERS
from helpers.template.domxml import Domain
from tests.support.suite import run_suite

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


class ShippedFilters:
    """Answers nwfilterLookupByName from the filter files, as a host that defines them would."""

    def __init__(self):
        self.xml = {ET.fromstring(p.read_text()).get("name"): p.read_text()
                    for p in BUILTIN_FILTERS.glob("*.xml")}
        self.xml["vmiso-no-host-access"] = no_host_access_filter(["10.213.0.1"])

    def nwfilterLookupByName(self, name):
        if name not in self.xml:
            raise libvirt.libvirtError(f"no filter {name}")
        return _Filter(self.xml[name])


class _Filter:
    def __init__(self, xml):
        self._xml = xml

    def XMLDesc(self, flags):
        return self._xml


def template_with_filterref(filterref):
    xml = (TEMPLATES / "hardened.xml").read_text()
    start, end = xml.index("<filterref"), xml.index("</filterref>") + len("</filterref>")
    return Domain.from_string(xml[:start] + filterref + xml[end:])


def test_the_hardened_template_filters_before_the_address_is_learned():
    hardened = Domain.from_string((TEMPLATES / "hardened.xml").read_text())
    assert netfilter.interfaces_open_while_learning(ShippedFilters(), hardened) == []


@pytest.mark.parametrize("filterref", [
    "<filterref filter='vmiso-no-host-access'/>",
    "<filterref filter='clean-traffic'/>",
    "<filterref filter='clean-traffic'><parameter name='CTRL_IP_LEARNING' value='any'/>"
    "</filterref>",
])
def test_learning_from_any_traffic_leaves_the_filter_open(filterref):
    found = netfilter.interfaces_open_while_learning(ShippedFilters(),
                                                     template_with_filterref(filterref))
    assert len(found) == 1 and "CTRL_IP_LEARNING any" in found[0]


@pytest.mark.parametrize("filterref", [
    "<filterref filter='clean-traffic'><parameter name='IP' value='10.213.0.150'/></filterref>",
    "<filterref filter='clean-traffic'><parameter name='CTRL_IP_LEARNING' value='dhcp'/>"
    "</filterref>",
    "<filterref filter='no-mac-spoofing'/>",  # uses no $IP: nothing to learn
])
def test_a_given_address_dhcp_learning_or_no_ip_rules_hold_from_the_start(filterref):
    assert netfilter.interfaces_open_while_learning(
        ShippedFilters(), template_with_filterref(filterref)) == []


def test_a_template_learning_from_any_traffic_fails_net01_in_a_run(tmp_path):
    """The hardened template with libvirt's default learning, against a lab's real libvirtd."""
    template = tmp_path / "learn-any.xml"
    template.write_text(
        ET.tostring(template_with_filterref("<filterref filter='vmiso-no-host-access'/>").root,
                    encoding="unicode"))
    proc, report = run_suite(tmp_path / "report", "suites", "--template", str(template),
                             "--control", "NET-01", "-k", "learned")
    net01 = report["controls"][0]
    assert (net01["id"], net01["status"]) == ("NET-01", "fail"), proc.stdout[-1500:]
    assert "CTRL_IP_LEARNING any" in " ".join(e["observed"] for e in net01["evidence"])
