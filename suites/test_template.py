"""Outside, from the template as given: the XML declares none of a control's risky devices."""

import pytest

from helpers.plugin.options import per_control
from helpers.template import rules


@pytest.mark.outside
@pytest.mark.declared
@pytest.mark.parametrize("control", per_control(rules.STATIC))
def test_template_declares_none_of_the_risky_devices(control, template, evidence):
    rule = rules.STATIC[control]
    evidence.expect_none(f"template: {rule.__doc__}", rule(template))


@pytest.mark.outside
@pytest.mark.parametrize("control", per_control(rules.QTREE_SURFACE))
def test_qemu_instantiated_none_of_the_risky_devices(control, guest, evidence):
    pattern = rules.QTREE_SURFACE[control].pattern
    evidence.expect_none(f"QMP info qtree: devices matching {pattern}",
                         rules.qtree_surface(control, guest.qemu_devices))
