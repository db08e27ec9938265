"""Outside, from the template as given: the XML declares none of a control's risky devices, and
QEMU's device tree of the running guest holds none either."""

import pytest

from helpers.plugin.options import per_control
from helpers.template import rules


@pytest.mark.outside
@pytest.mark.declared
@pytest.mark.parametrize("control", per_control(rules.XML_CONTROLS))
def test_template_declares_none_of_the_risky_devices(control, template, allowed_devices,
                                                     evidence):
    try:
        what, found = rules.template_check(control, template, allowed_devices)
    except rules.NotApplicable as why:
        pytest.skip(str(why))
    evidence.expect_none(what, found)


@pytest.mark.outside
@pytest.mark.parametrize("control", per_control(rules.QTREE_SURFACE))
def test_qemu_instantiated_none_of_the_risky_devices(control, guest, evidence):
    pattern = rules.QTREE_SURFACE[control].pattern
    evidence.expect_none(f"QMP info qtree and qom-list: devices matching {pattern}",
                         rules.qtree_surface(control, guest.qemu_devices))


@pytest.mark.control("HV-09")
@pytest.mark.outside
def test_qemu_instantiated_only_allowlisted_devices(guest, allowed_devices, evidence):
    evidence.expect_none("QMP info qtree and qom-list: device types not on the policy's "
                         "[devices] allowlist",
                         sorted(d for d in guest.qemu_devices
                                if not rules.is_allowed(d, allowed_devices)))
