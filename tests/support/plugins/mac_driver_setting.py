"""A host configuration for the self-tests: the lab's qemu.conf names a security driver this
kernel lacks (VMISO_SECURITY_DRIVER, e.g. apparmor on a kernel without AppArmor), a natural
misreading of ESC-04's fix; libvirtd then cannot start its QEMU driver.

    VMISO_SECURITY_DRIVER=apparmor pytest suites -p tests.support.plugins.mac_driver_setting
"""

import os

from helpers.lab import labconfig


def pytest_configure(config):
    driver = os.environ["VMISO_SECURITY_DRIVER"]
    for profile in labconfig.PROFILES:
        labconfig.PROFILES[profile] += f'security_driver = "{driver}"\n'
