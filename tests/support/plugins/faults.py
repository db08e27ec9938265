"""Fault injection for the self-tests: once the guest is up, just before the first check that
uses it runs, one fault strikes. Pick it with VMISO_FAULT:

    VMISO_FAULT=destroy_guest pytest suites/test_hypervisor_surface.py \
        -p tests.support.plugins.faults

Faults: destroy_guest, cut_guest_link, stop_sshd, hang_commands, restart_libvirtd, qmp_fails.
"""

import os
import subprocess
import time
import xml.etree.ElementTree as ET

import libvirt
import pytest

from helpers.host import qmp
from helpers.vm import launch as guest_mod

HANG_TIMEOUT_S = 3
fired = pytest.StashKey[bool]()


def destroy_guest(guest, target):
    guest.domain.destroy()


def cut_guest_link(guest, target):
    """The guest's NIC on the lab network loses its link, as an unplugged cable."""
    live = ET.fromstring(guest.domain.XMLDesc(0))
    iface = next(i for i in live.findall("devices/interface") if i.get("type") == "network")
    ET.SubElement(iface, "link", state="down")
    guest.domain.updateDeviceFlags(ET.tostring(iface, encoding="unicode"),
                                   libvirt.VIR_DOMAIN_AFFECT_LIVE)


def stop_sshd(guest, target):
    try:
        guest.run("killall dropbear")
    except guest_mod.GuestError:
        pass  # the command killed the session it ran in


def hang_commands(guest, target):
    """Every later command in the guest hangs; the suite's per-command timeout must end it."""
    guest.host.backend.timeout = HANG_TIMEOUT_S
    plain_run = guest_mod.Guest.run
    guest_mod.Guest.run = lambda self, command, *args: plain_run(self, "sleep 600; " + command,
                                                                 *args)


def restart_libvirtd(guest, target):
    """Stop the lab's libvirtd and start it again in the lab's namespaces."""
    lab = target.lab
    pidfile = lab.root / "libvirtd.pid"
    os.kill(lab.libvirtd_pid, 15)
    while pidfile.exists():
        time.sleep(0.1)
    virtlogd = (lab.root / "virtlogd.pid").read_text().strip()
    subprocess.run(["nsenter", "-t", virtlogd, "-m", "-n", "libvirtd", "-d", "--pid-file",
                    str(pidfile)], check=True)
    while not lab.socket.exists():
        time.sleep(0.1)


def qmp_fails(guest, target):
    def refuse(*args, **kwargs):
        raise libvirt.libvirtError("injected fault: the monitor does not answer")
    qmp.libvirt_qemu.qemuMonitorCommand = refuse


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    if item.config.stash.get(fired, False) or "guest" not in item.fixturenames:
        return
    item.config.stash[fired] = True
    fault = globals()[os.environ["VMISO_FAULT"]]
    fault(item._request.getfixturevalue("guest"), item._request.getfixturevalue("target"))
