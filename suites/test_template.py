"""Outside, from the template as given: the XML declares none of a control's risky devices."""

import pytest

from helpers import analysis
from helpers.plugin import per_control


@pytest.mark.outside
@pytest.mark.declared
@pytest.mark.parametrize("control", per_control(analysis.STATIC))
def test_template_declares_none_of_the_risky_devices(control, template, evidence):
    rule = analysis.STATIC[control]
    evidence.expect_none(f"template: {rule.__doc__}", rule(template))


@pytest.mark.outside
@pytest.mark.parametrize("control", per_control(analysis.QTREE_SURFACE))
def test_qemu_instantiated_none_of_the_risky_devices(control, guest, evidence):
    pattern = analysis.QTREE_SURFACE[control].pattern
    evidence.expect_none(f"QMP info qtree: devices matching {pattern}",
                         analysis.qtree_surface(control, guest.qemu_devices))
