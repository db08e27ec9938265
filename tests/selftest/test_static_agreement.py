"""The static rules agree with what libvirt really hands QEMU. Hypothesis builds domain XMLs from
the elements the rules know (and some they do not), the lab's libvirtd turns each into the QEMU
command line it would run (domainXMLToNative), QEMU itself says what its machine types and CPU
models hold, and for every template libvirt accepts, each device control's static verdict must
equal what that command line gives the guest, and the QEMU devices the XML model predicts must be
the ones on it."""

import json
import subprocess
import xml.etree.ElementTree as ET

import libvirt
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from helpers.lab.lab import NETWORK, Lab
from helpers.policy import policyfile
from helpers.template import expansion, rules
from helpers.template.domxml import Domain
from tests.support.qemuargv import QemuArgv, qtree_types
from tests.support.suite import ROOT, STATE_DIR

EXAMPLES = 300
SURFACE_CONTROLS = ("HV-02", "HV-03", "HV-04", "HV-05", "HV-06", "DEV-01", "DEV-02", "SHR-01",
                    "SHR-05")
CHANNEL_CONTROLS = ("SHR-02", "SHR-03")
CLIPBOARD_PORT, AGENT_PORT = "com.redhat.spice.0", "org.qemu.guest_agent.0"
# PCI plumbing libvirt adds for addresses, not modelled per device.
PLUMBING = {"pcie-root-port", "pcie-pci-bridge", "pci-bridge"}
ALLOWED = policyfile.read(policyfile.DEFAULT).allowed_devices


class Qemu:
    """A QEMU with no guest, asked through QMP what a machine type or CPU model holds."""

    def __init__(self, *args):
        self.proc = subprocess.Popen(
            ["qemu-system-x86_64", "-accel", "tcg", "-nodefaults", "-display", "none", "-S",
             "-qmp", "stdio", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.proc.stdout.readline()
        self.ask("qmp_capabilities")

    def ask(self, command, **arguments):
        self.proc.stdin.write(json.dumps({"execute": command, "arguments": arguments}) + "\n")
        self.proc.stdin.flush()
        while True:
            reply = json.loads(self.proc.stdout.readline())
            if "return" in reply or "error" in reply:
                return reply.get("return")

    def close(self):
        self.ask("quit")
        self.proc.wait(timeout=30)


class QemuTruth:
    """What QEMU says: the devices of each machine type, the vmx/svm of each CPU model."""

    def __init__(self):
        self.chipsets, self.models = {}, {}

    def chipset(self, machine):
        if machine not in self.chipsets:
            qemu = Qemu("-machine", f"{machine},usb=off")
            tree = qemu.ask("human-monitor-command", **{"command-line": "info qtree"})
            qemu.close()
            self.chipsets[machine] = qtree_types(tree)
        return self.chipsets[machine]

    def nested(self, model):
        if model not in self.models:
            qemu = Qemu("-machine", "none")
            found = qemu.ask("query-cpu-model-expansion", type="full", model={"name": model})
            qemu.close()
            props = (found or {}).get("model", {}).get("props", {})
            self.models[model] = {f for f in ("vmx", "svm") if props.get(f)}
        return self.models[model]


@pytest.fixture(scope="module")
def conn():
    lab = Lab.start(STATE_DIR, ROOT / ".cache" / "libvirt" / "hardened")
    libvirt.registerErrorHandler(lambda *_: None, None)  # refusals are counted, not printed
    try:
        yield libvirt.open(lab.uri)
    finally:
        lab.stop()


@pytest.fixture(scope="module")
def qemu():
    return QemuTruth()


def element(tag, children=(), **attributes):
    node = ET.Element(tag, {k.rstrip("_"): v for k, v in attributes.items() if v is not None})
    node.extend(children)
    return node


def disks():
    device = st.sampled_from(["disk", "cdrom", "lun", "floppy"])
    bus = st.sampled_from([None, "virtio", "sata", "scsi", "usb", "ide"])
    prefix = st.sampled_from(["vd", "sd", "hd"])
    return st.tuples(device, bus, prefix)


def disk(index, device, bus, prefix):
    dev = "fd" + "ab"[index % 2] if device == "floppy" else prefix + "abcd"[index]
    source = element("source", dev="/dev/null") if device == "lun" else \
        element("source", file=f"/var/lib/libvirt/images/d{index}.img")
    return element("disk", [element("driver", name="qemu", type="raw"), source,
                            element("target", dev=dev, bus=None if device == "floppy" else bus)],
                   type="block" if device == "lun" else "file", device=device)


def text_element(tag, text, **attributes):
    node = element(tag, **attributes)
    node.text = text
    return node


def interface(kind, model):
    children = [element("source", network=NETWORK)] if kind == "network" else []
    if model is not None:
        children.append(element("model", type=model))
    return element("interface", children, type=kind)


def graphics(kind, listen, sharing=()):
    children = [element(tag, **{attribute: "no"}) for tag, attribute in sharing]
    if listen == "network":
        children.append(element("listen", type="network", network=NETWORK))
    elif listen is not None:
        children.append(element("listen", type="address", address=listen))
    return element("graphics", children, type=kind, autoport="yes")


def video(model, accel3d):
    if model is None:
        return element("video")
    children = [element("acceleration", accel3d="yes")] if accel3d else []
    return element("video", [element("model", children, type=model)])


def cpu(choice, model, feature, policy):
    if choice == "absent":
        return []
    if choice in ("host-passthrough", "host-model"):
        return [element("cpu", mode=choice)]
    children = [text_element("model", model)] if model else []
    if feature and choice != "minimum":  # with minimum, TCG cannot show the host's vmx
        children.append(element("feature", policy=policy, name=feature))
    return [element("cpu", children, mode="custom",
                    match="minimum" if choice == "minimum" else "exact")]


@st.composite
def templates(draw):
    machine = draw(st.sampled_from(["q35", "pc"]))
    devices = [disk(i, *spec) for i, spec in enumerate(draw(st.lists(disks(), max_size=3)))]
    usb = draw(st.sampled_from([None, "none", "qemu-xhci", "piix3-uhci", "ich9-ehci1",
                                "nec-xhci"]))
    if usb:
        devices.append(element("controller", type="usb", model=usb))
    scsi = draw(st.sampled_from([None, "virtio-scsi", "lsilogic", "lsisas1068", "lsisas1078",
                                 "vmpvscsi", "am53c974", "dc390", ""]))
    if scsi is not None:
        devices.append(element("controller", type="scsi", model=scsi or None))
    for kind, model in draw(st.lists(st.tuples(
            st.sampled_from(["network", "user"]),
            st.sampled_from([None, "virtio", "virtio-transitional", "virtio-non-transitional",
                             "e1000", "e1000e", "rtl8139"])), max_size=2)):
        devices.append(interface(kind, model))
    display = draw(st.sampled_from([None, "vnc", "spice"]))
    if display:
        sharing = draw(st.sampled_from([(), (("clipboard", "copypaste"),),
                                        (("clipboard", "copypaste"),
                                         ("filetransfer", "enable"))])) \
            if display == "spice" else ()
        devices.append(graphics(display, draw(st.sampled_from(
            [None, "127.0.0.1", "0.0.0.0", "10.213.0.1", "network"])), sharing))
    if display == "spice" and draw(st.booleans()):
        devices.append(element("channel", [element("target", type="virtio",
                                                   name=CLIPBOARD_PORT)], type="spicevmc"))
    elif draw(st.booleans()):
        devices.append(element("channel", [
            element("source", [element("clipboard", copypaste=draw(st.sampled_from(
                ["yes", "no"])))]),
            element("target", type="virtio", name=CLIPBOARD_PORT)], type="qemu-vdagent"))
    if draw(st.booleans()):
        devices.append(element("hostdev", [element("source", [
            element("vendor", id="0x1d6b"), element("product", id="0x0002"),
            element("address", bus="1", device="1")])], mode="subsystem", type="usb"))
    if draw(st.booleans()):
        devices.append(element("hostdev", [element("driver", name="vfio"), element("source", [
            element("address", domain="0", bus="0", slot="1", function="0")])],
            mode="subsystem", type="pci", managed="yes"))
    if draw(st.booleans()):
        devices.append(video(draw(st.sampled_from([None, "none", "cirrus", "vga", "qxl",
                                                   "virtio", "bochs", "vmvga"])),
                             draw(st.booleans())))
    for model in draw(st.lists(st.sampled_from(["ich6", "ich9", "ac97", "es1370"]),
                               max_size=1)):
        devices.append(element("sound", model=model))
    for kind, bus in draw(st.lists(st.tuples(st.sampled_from(["tablet", "mouse", "keyboard"]),
                                             st.sampled_from([None, "usb", "virtio"])),
                                   max_size=2)):
        devices.append(element("input", type=kind, bus=bus))
    balloon = draw(st.sampled_from([None, "none", "virtio"]))
    if balloon:
        devices.append(element("memballoon", model=balloon))
    if draw(st.booleans()):
        devices.append(element("parallel", [element("target", port="0")], type="pty"))
    if draw(st.booleans()):
        devices.append(element("channel", [element("target", type="virtio",
                                                   name=AGENT_PORT)], type="pty"))
    if draw(st.booleans()):
        devices.append(element("filesystem", [element("source", dir="/srv/share"),
                                              element("target", dir="share")],
                               type="mount", accessmode="mapped"))
    if display == "spice" and draw(st.booleans()):
        devices.append(element("redirdev", bus="usb", type="spicevmc"))
    # elements the rules do not know
    for tag, attribute, value in draw(st.lists(st.sampled_from([
            ("watchdog", "model", "i6300esb"), ("watchdog", "model", "ib700"),
            ("panic", "model", "isa"), ("hub", "type", "usb")]), max_size=2,
            unique_by=lambda e: e[0])):
        devices.append(element(tag, **{attribute: value}))
    if draw(st.booleans()):
        devices.append(element("rng", [text_element("backend", "/dev/urandom",
                                                    model="random")], model="virtio"))
    root = element("domain", [text_element("name", "agree"), text_element("memory", "131072"),
                              element("os", [text_element("type", "hvm", arch="x86_64",
                                                          machine=machine)])], type="qemu")
    root.extend(cpu(draw(st.sampled_from(["absent", "custom", "minimum", "host-passthrough",
                                          "host-model"])),
                    draw(st.sampled_from([None, "qemu64", "kvm64", "EPYC", "Skylake-Client"])),
                    # optional vmx: TCG has no vmx, so only a KVM host shows what it becomes
                    *draw(st.sampled_from([(None, None), ("svm", "disable"), ("svm", "require"),
                                           ("svm", "optional"), ("vmx", "disable"),
                                           ("vmx", "require")]))))
    root.append(element("devices", devices))
    return ET.tostring(root, encoding="unicode")


def expanded_verdicts(argv, qemu):
    """Each device control's verdict from the command line: True where the guest gets it."""
    have = set(argv.devices) | qemu.chipset(argv.machine)
    nested = {f for f, on in argv.cpu_flags.items() if f in ("vmx", "svm") and on}
    default = qemu.nested(argv.cpu_model) - {f for f, on in argv.cpu_flags.items() if not on}
    verdicts = {control: bool(rules.qtree_surface(control, have)) for control in SURFACE_CONTROLS}
    verdicts["HV-01"] = bool({"isa-fdc", "floppy"} & have)
    verdicts["HV-07"] = bool(nested or default)
    verdicts["MGT-01"] = bool(argv.exposed_displays())
    verdicts["HV-09"] = any(not rules.is_allowed(d, ALLOWED) for d in have - PLUMBING)
    verdicts["SHR-02"] = clipboard_reaches_the_guest(argv)
    verdicts["SHR-03"] = AGENT_PORT in argv.ports
    return verdicts, have - PLUMBING


def clipboard_reaches_the_guest(argv):
    """A vdagent port (SPICE's or QEMU's): without one, SPICE's copy-paste and file transfer
    have no agent in the guest to reach, whatever -spice allows."""
    return CLIPBOARD_PORT in argv.ports


def static_verdicts(dom):
    found = rules.findings(dom, ALLOWED)
    return {control: bool(found[control]) for control in
            SURFACE_CONTROLS + CHANNEL_CONTROLS + ("HV-01", "HV-07", "MGT-01", "HV-09")}


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(xml=templates())
def agree(conn, qemu, tally, xml):
    """One generated template: libvirt's command line and the static analysis agree."""
    try:
        native = conn.domainXMLToNative("qemu-argv", xml, 0)
    except libvirt.libvirtError:
        tally["refused by libvirt"] += 1
        reject()
    tally["accepted"] += 1
    dom = Domain.from_string(xml)
    expanded, devices = expanded_verdicts(QemuArgv.parse(native), qemu)
    predicted = {d.qemu_type for d in expansion.qemu_devices(dom)} - PLUMBING
    assert predicted == devices, xml
    assert static_verdicts(dom) == expanded, xml


def test_static_verdicts_equal_what_libvirt_hands_qemu(conn, qemu):
    """Every generated template agrees, and libvirt accepted enough of them to mean it."""
    tally = {"accepted": 0, "refused by libvirt": 0}
    agree(conn, qemu, tally)
    print(f"static/expanded agreement: {tally}")
    assert tally["accepted"] >= EXAMPLES // 2, tally
