"""Which MAC labels count as confining a guest (ESC-04)."""

import pytest

from helpers.hostconfig.confinement import label_confines


@pytest.mark.parametrize("model, label, enforcing, confines", [
    ("selinux", "system_u:system_r:svirt_t:s0:c12,c345", True, True),
    ("selinux", "system_u:system_r:svirt_t:s0:c12,c345", False, False),
    ("selinux", "system_u:system_r:unconfined_t:s0", True, False),
    ("selinux", "system_u:system_r:svirt_t:s0", True, False),
    ("apparmor", "libvirt-6f1c2d3e-0000-4000-8000-000000000000", True, True),
    ("apparmor", "libvirt-6f1c2d3e-0000-4000-8000-000000000000", False, False),
    ("apparmor", "unconfined", True, False),
    ("apparmor", "", True, False),
])
def test_label_confines(model, label, enforcing, confines):
    assert label_confines(model, label, enforcing) == confines
