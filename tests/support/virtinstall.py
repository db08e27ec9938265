"""Templates as virt-install writes them: `virt-install --print-xml` against a lab's libvirtd,
which it asks for the hypervisor's capabilities as it would a real host's.

    xml = print_xml(lab, "vi-rhel", "rhel9.1", disk)
"""

import subprocess

from helpers.lab.lab import NETWORK


def print_xml(lab, name, osinfo, disk):
    return subprocess.run(
        ["virt-install", "--connect", lab.uri, "--print-xml", "--name", name,
         "--osinfo", osinfo, "--memory", "1024", "--import",
         "--disk", f"path={disk},format=qcow2", "--network", f"network={NETWORK}"],
        check=True, capture_output=True, text=True, timeout=120).stdout
