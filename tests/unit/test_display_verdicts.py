"""What a display gives the guest, judged as libvirt builds it (the false fails libvirt's own
test corpus showed): SPICE's clipboard and file transfer need its agent's channel, and the card
libvirt adds for a display depends on the architecture. Each case has its failing twin."""

import pytest

from helpers.template.domxml import Domain
from helpers.template.rules import findings

SPICE_AGENT = ("<channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/>"
               "</channel>")
QEMU_VDAGENT = ("<channel type='qemu-vdagent'><source><clipboard copypaste='yes'/></source>"
                "<target type='virtio' name='com.redhat.spice.0'/></channel>")


def domain(devices, arch="x86_64", machine="q35"):
    return Domain.from_string(
        f"<domain type='qemu'><name>v</name><os><type arch='{arch}' machine='{machine}'>hvm"
        f"</type></os><devices>{devices}</devices></domain>")


@pytest.mark.parametrize("devices, expected", [
    ("<graphics type='spice' autoport='yes'/>", []),  # no agent: nothing to paste into
    ("<graphics type='spice'><clipboard copypaste='yes'/></graphics>", []),
    ("<graphics type='spice' autoport='yes'/>" + SPICE_AGENT,
     ["spicevmc channel com.redhat.spice.0", "SPICE graphics with copypaste=unset (on)",
      "SPICE graphics with filetransfer=unset (on)"]),
    ("<graphics type='spice'><clipboard copypaste='no'/><filetransfer enable='no'/></graphics>"
     + SPICE_AGENT, ["spicevmc channel com.redhat.spice.0"]),
    # QEMU's own vdagent serves the clipboard (to VNC); SPICE's settings do not reach it
    ("<graphics type='spice'><clipboard copypaste='yes'/></graphics>" + QEMU_VDAGENT,
     ["qemu-vdagent channel com.redhat.spice.0 with copypaste=yes"]),
])
def test_spice_shares_a_clipboard_only_through_an_agent_channel(devices, expected):
    assert findings(domain(devices))["SHR-02"] == expected


# (arch, machine, whether libvirt's card for a display without a video model is emulated)
DEFAULT_CARDS = [
    ("x86_64", "q35", True),  # cirrus
    ("x86_64", "pc-i440fx-7.2", True),
    ("ppc64le", "pseries", True),  # VGA
    ("aarch64", "virt", False),  # virtio-gpu
    ("aarch64", "virt-7.2", False),
    ("riscv64", "virt", False),
    ("s390x", "s390-ccw-virtio", False),
]


@pytest.mark.parametrize("arch, machine, emulated", DEFAULT_CARDS)
def test_a_display_without_video_gets_the_card_libvirt_picks_for_the_machine(arch, machine,
                                                                             emulated):
    assert bool(findings(domain("<graphics type='vnc'/>", arch, machine))["HV-05"]) is emulated


@pytest.mark.parametrize("arch, machine, emulated", DEFAULT_CARDS)
def test_a_video_without_a_model_gets_the_model_libvirt_picks(arch, machine, emulated):
    devices = "<graphics type='vnc'/><video/>"
    assert bool(findings(domain(devices, arch, machine))["HV-05"]) is emulated


@pytest.mark.parametrize("devices, emulated", [
    ("<video><model type='cirrus'/></video>", True),  # headless, the card is still there
    ("<graphics type='vnc'/><video><model type='none'/></video>", False),
    ("<graphics type='egl-headless'/><video><model type='virtio'/></video>", False),
    ("<graphics type='egl-headless'/><video><model type='virtio'>"
     "<acceleration accel3d='yes'/></model></video>", True),  # virgl
    ("<graphics type='egl-headless'/>", True),  # libvirt adds its cirrus for any display
])
def test_a_card_is_judged_by_what_qemu_makes_not_by_the_display(devices, emulated):
    assert bool(findings(domain(devices))["HV-05"]) is emulated
