"""Walk a paused guest of a template through the lifecycle steps libvirt offers it, reading the
host at each (what lifecycle.py judges).

    walk = lifecycle(target, template, image, accelerator)
    walk.baseline                 # the paused guest as it first ran: files, QEMU, filters
    [s.describe() for s in walk.steps]
    walk.drifts                   # what changed from the guest's confinement, by step

One paused domain of the template walks every step: a paused guest runs no code, so no step
waits on it. What a step needs from a running guest (an ACPI unplug a paused guest never
answers) is reported as not done, with why; so is a step the template's devices refuse.
"""

import time
import xml.etree.ElementTree as ET

from helpers.host.errors import HypervisorError
from helpers.lab.mounts import seen_from_outside
from helpers.probes.escape.lifecycle import (
    State,
    Step,
    Walk,
    disk_shapes,
    image_exposed,
    kept,
    running_drifts,
    stopped_drifts,
)
from helpers.probes.filterbindings import filter_bindings
from helpers.probes.hostfiles import backing_files, labels, vmisos_own
from helpers.template.domxml import Domain
from helpers.verdict.undecided import Undecided

SAVE_IMAGE = "lifecycle.save"
UNPLUG_WAIT_S = 0.5
# An option QEMU refuses after libvirt has labelled every file (its arguments are parsed after
# libvirt's labelling): the failed start changes no file the template names.
NO_SUCH_OPTION = "-vmiso-no-such-option"
QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"
VIRTIO_SCSI = "controller[@type='scsi'][@model='virtio-scsi']"


def lifecycle(target, template, image, accelerator, raw_qemu=False):
    """Walk a paused domain of `template` through a failed start, save and restore, managed
    save, snapshot and revert, disk and NIC hotplug and unplug, reading the host at each
    step (Walk)."""
    import libvirt  # deferred, as in stoppedguest.py

    from helpers.vm.launch import GuestError, paused

    try:
        with paused(target, template, image, accelerator, raw_qemu) as guest:
            guest.xml = _with_hotplug_room(guest.xml)
            return _Walker(target, guest).walk()
    except (GuestError, HypervisorError, libvirt.libvirtError) as err:
        raise Undecided(f"no paused guest of the template could be walked through its "
                        f"lifecycle: {err}") from None


def _with_hotplug_room(xml):
    """The domain with a virtio-scsi controller (a SCSI disk is unplugged without the guest's
    help) and, on a PCI Express machine, a free root port for the NIC hotplug: libvirt fills the
    root ports a domain names before it adds any, so one more than its devices leaves one."""
    root = ET.fromstring(xml)
    devices = root.find("devices")
    if devices.find(VIRTIO_SCSI) is None:
        ET.SubElement(devices, "controller", type="scsi", model="virtio-scsi")
    if devices.find("controller[@model='pcie-root']") is None and \
            "q35" in root.find("os/type").get("machine", ""):
        ET.SubElement(devices, "controller", type="pci", index="0", model="pcie-root")
    if devices.find("controller[@model='pcie-root']") is not None:
        for _ in range(len(devices) + 1):
            ET.SubElement(devices, "controller", type="pci", model="pcie-root-port")
    return ET.tostring(root, encoding="unicode")


def _with_option(xml, option):
    root = ET.fromstring(xml)
    line = root.find(f"{{{QEMU_NS}}}commandline")
    if line is None:
        line = ET.SubElement(root, f"{{{QEMU_NS}}}commandline")
    ET.SubElement(line, f"{{{QEMU_NS}}}arg", value=option)
    return ET.tostring(root, encoding="unicode")


def _scsi_disk(live, controller, path, shape):
    """(the XML of a raw SCSI disk of `shape` on `path`, its target dev) on a free unit of
    SCSI controller `controller` of the running domain `live`."""
    taken = {t.get("dev") for t in live.findall("devices/disk/target")}
    dev = next(f"sd{c}" for c in "zyxwvutsrqponmlkjihgfedcba" if f"sd{c}" not in taken)
    units = {int(a.get("unit", "0")) for a in live.findall("devices/disk/address")
             if a.get("type") == "drive" and a.get("controller") == controller}
    disk = ET.Element("disk", type="file", device="disk")
    ET.SubElement(disk, "driver", name="qemu", type="raw")
    source = ET.SubElement(disk, "source", file=path)
    for label in shape.seclabels:
        source.append(ET.fromstring(label))
    ET.SubElement(disk, "target", dev=dev, bus="scsi")
    for on, tag in ((shape.readonly, "readonly"), (shape.shareable, "shareable")):
        if on:
            ET.SubElement(disk, tag)
    ET.SubElement(disk, "address", type="drive", controller=controller, bus="0", target="0",
                  unit=str(min(set(range(len(units) + 1)) - units)))
    return ET.tostring(disk, encoding="unicode"), dev


def _managed_save_path(target, name):
    """Where libvirt keeps a domain's managed-save image, as this controller reaches it."""
    path = f"/var/lib/libvirt/qemu/save/{name}.save"
    return seen_from_outside(target.lab.root, path) if target.lab is not None else path


class _Walker:
    def __init__(self, target, guest):
        self.target, self.guest = target, guest
        self.hypervisor, self.conn = target.hypervisor, target.conn
        self.workdir = guest.spec.scratch_dir
        domain = Domain.from_string(guest.xml)
        files = domain.host_files + backing_files(self.hypervisor, domain.disk_files)
        ours = vmisos_own(target, guest.spec.seed)
        self.files = [path for _, path in files]
        self.judged = tuple(p for p in self.files if not ours(p))
        self.identity = ""  # QEMU's uid:gid once it ran

    def walk(self):
        before = self.state()
        started = time.monotonic()
        failed, after_failure = self.failed_start(before)
        failed.seconds = time.monotonic() - started
        self.guest.start()
        walk = Walk(before, self.state(), self.judged)
        if walk.baseline.process is None:
            raise Undecided(f"libvirt started {self.guest.spec.name}, and no QEMU process of "
                            f"it was found on the host")
        self.identity = walk.baseline.process.split()[0]
        if after_failure is not None:
            failed.drifts = stopped_drifts(before, after_failure, self.judged)
        walk.steps.append(failed)
        for step in (self.save_restore, self.managed_save, self.snapshot, self.disk_hotplug,
                     self.nic_hotplug):
            started = time.monotonic()
            walk.steps.append(step(walk))
            walk.steps[-1].seconds = time.monotonic() - started
        return walk

    # -- what the host shows --

    def state(self, extra=()):
        files = labels(self.hypervisor, self.files + [str(p) for p in extra])
        process = self.process()
        filters = filter_bindings(self.conn, self.guest.domain) if process is not None else {}
        return State(files, process, filters)

    def process(self):
        import libvirt

        from helpers.probes.qemuproc import ProcessNotFound, QemuProcess

        domain = self.guest.domain
        try:
            if domain is None or not domain.isActive():
                return None
            labels_ = [label for label, _ in domain.securityLabelList() if label]
        except libvirt.libvirtError as err:
            if err.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise Undecided(f"libvirt could not say how it runs the guest: {err}") from None
        try:
            qemu = QemuProcess.of(self.hypervisor, self.guest.spec.name)
        except ProcessNotFound as err:
            raise Undecided(str(err)) from None
        return " ".join([f"{qemu.euid}:{qemu.egid}"] + labels_)

    # -- the steps --

    def failed_start(self, before):
        """(Step, the host after the failure): a start QEMU refuses once libvirt has labelled
        the files."""
        import libvirt

        name = "failed start (QEMU refused an option after libvirt labelled the files)"
        try:
            domain = self.conn.createXML(_with_option(self.guest.xml, NO_SUCH_OPTION),
                                         libvirt.VIR_DOMAIN_START_PAUSED)
        except libvirt.libvirtError as err:
            message = err.get_error_message()
            if NO_SUCH_OPTION not in message:
                return Step(name, False, f"libvirt refused the start before QEMU ran: "
                                         f"{message}"), None
            after = self.state()
            return Step(name, seen=[("QEMU said", message.strip().splitlines()[-1]),
                                    ("after", after.describe(before))]), after
        domain.destroy()
        return Step(name, False, f"QEMU started despite {NO_SUCH_OPTION}"), None

    def save_restore(self, walk):
        import libvirt

        step, path = Step("save and restore"), str(self.workdir / SAVE_IMAGE)
        try:
            self.guest.domain.save(path)
        except libvirt.libvirtError as err:
            return Step(step.name, False, f"libvirt could not save the guest: {err}")
        saved = self.state([path])
        self._stopped(step, "saved", walk, saved)
        self._image(step, "save image", path, saved)
        try:
            self.conn.restoreFlags(path, None, libvirt.VIR_DOMAIN_SAVE_PAUSED)
            self.guest.domain = self.conn.lookupByName(self.guest.spec.name)
        except libvirt.libvirtError as err:
            raise Undecided(f"libvirt saved the guest to {path} and could not restore it: "
                            f"{err}") from None
        self._running(step, "restored", walk, self.state())
        self.hypervisor.run("rm", "-f", path)
        return step

    def managed_save(self, walk):
        """The domain made persistent for it (a transient one has no managed save), and
        transient again after."""
        import libvirt

        step = Step("managed save and start")
        path = _managed_save_path(self.target, self.guest.spec.name)
        try:
            domain = self.conn.defineXML(self.guest.domain.XMLDesc(0))
        except libvirt.libvirtError as err:
            return Step(step.name, False, f"libvirt could not make the guest persistent, which "
                                          f"a managed save needs: {err}")
        try:
            try:
                domain.managedSave(0)
            except libvirt.libvirtError as err:
                return Step(step.name, False, f"libvirt could not managed-save the guest: {err}")
            saved = self.state([path])
            self._stopped(step, "saved", walk, saved)
            self._image(step, "managed-save image", path, saved)
            domain.createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED)
            self.guest.domain = domain
            self._running(step, "started from it", walk, self.state([path]))
        except libvirt.libvirtError as err:
            raise Undecided(f"libvirt managed-saved the guest and could not start it from "
                            f"there: {err}") from None
        finally:
            self._transient(domain)
        return step

    def _transient(self, domain):
        import libvirt

        from helpers.vm.runmark import UNDEFINE

        try:
            domain.undefineFlags(UNDEFINE)
        except libvirt.libvirtError as err:
            raise Undecided(f"libvirt could not make {self.guest.spec.name} transient again "
                            f"after its managed save: {err}") from None

    def snapshot(self, walk):
        import libvirt

        step = Step("internal snapshot and revert")
        disks = ET.Element("disks")
        for disk in Domain.from_string(self.guest.domain.XMLDesc(0)).root.findall(
                "devices/disk"):
            driver, dev = disk.find("driver"), disk.find("target").get("dev")
            ours = disk.find("readonly") is None and driver is not None and \
                driver.get("type") == "qcow2"
            ET.SubElement(disks, "disk", name=dev, snapshot="internal" if ours else "no")
        xml = f"<domainsnapshot><name>vmiso-lifecycle</name>{ET.tostring(disks, 'unicode')}" \
              f"</domainsnapshot>"
        try:
            snap = self.guest.domain.snapshotCreateXML(xml, 0)
        except libvirt.libvirtError as err:
            return Step(step.name, False, f"libvirt could not take a snapshot: {err}")
        try:
            self._running(step, "snapshot taken", walk, self.state())
            self.guest.domain.revertToSnapshot(snap, libvirt.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED)
            self._running(step, "reverted", walk, self.state())
            snap.delete(0)
        except libvirt.libvirtError as err:
            raise Undecided(f"libvirt took a snapshot and could not revert to it: {err}") \
                from None
        return step

    def disk_hotplug(self, walk):
        """A SCSI disk of each shape the template gives its disks (writable; read-only and
        shareable where it has such): a SCSI disk leaves without the guest's help."""
        import libvirt

        live = Domain.from_string(self.guest.domain.XMLDesc(0)).root
        scsi = live.find(f"devices/{VIRTIO_SCSI}")
        if scsi is None:
            return Step("disk hotplug and unplug", False, "libvirt runs the guest without the "
                                                          "virtio-scsi controller vmiso gave it")
        step = Step("SCSI disk hotplug and unplug")
        for number, shape in enumerate(disk_shapes(self.guest.template), 1):
            path = str(self.workdir / f"hotplug-{number}.img")
            self.hypervisor.make_sparse(path, 1 << 20)
            self.hypervisor.run("chmod", "600", path)
            live = Domain.from_string(self.guest.domain.XMLDesc(0)).root
            xml, dev = _scsi_disk(live, scsi.get("index"), path, shape)
            what = f"{' '.join(shape.names) or 'writable'} disk {dev}"
            first = self.state([path]).files[path]
            try:
                self.guest.domain.attachDeviceFlags(xml, libvirt.VIR_DOMAIN_AFFECT_LIVE)
            except libvirt.libvirtError as err:
                step.left_out.append(f"{what}: libvirt could not plug it in: {err}")
                continue
            self._running(step, f"{what} plugged", walk, self.state([path]))
            if not self._unplug(step, what, f"devices/disk/target[@dev='{dev}']"):
                continue
            unplugged = self.state([path])
            self._running(step, f"{what} unplugged", walk, unplugged)
            if kept(first, unplugged.files[path]):
                step.drifts.append(f"unplugged {what} {path} is {unplugged.files[path]}, "
                                   f"before the plug {first}")
        return step

    def nic_hotplug(self, walk):
        import libvirt

        from helpers.vm.launch import free_mac

        step = Step("NIC hotplug and unplug")
        live = Domain.from_string(self.guest.domain.XMLDesc(0))
        nics = [i for i in live.interfaces if i.get("type") not in ("user", "hostdev")]
        if not nics:
            return Step(step.name, False, "the template has no NIC with a host-side port")
        nic = next((i for i in nics if Domain.interface_filter(i)), nics[0])
        for tag in ("target", "alias", "address", "mac"):
            for child in nic.findall(tag):
                nic.remove(child)
        mac = free_mac(self.target)
        ET.SubElement(nic, "mac", address=mac)
        xml = ET.tostring(nic, encoding="unicode")
        try:
            self.guest.domain.attachDeviceFlags(xml, libvirt.VIR_DOMAIN_AFFECT_LIVE)
        except libvirt.libvirtError as err:
            return Step(step.name, False, f"libvirt could not plug a NIC in: {err}")
        plugged = self.state()
        self._running(step, "plugged", walk, plugged)
        wanted = Domain.interface_filter(nic)
        if wanted and plugged.filters.get(mac, "") != wanted:
            step.drifts.append(f"hotplugged NIC {mac} has "
                               f"{plugged.filters.get(mac) or 'no filter binding'}, its "
                               f"<filterref> {wanted}")
        if self._unplug(step, f"NIC {mac}", f"devices/interface/mac[@address='{mac}']"):
            self._running(step, "unplugged", walk, self.state())
        return step

    # -- judging each reading --

    def _unplug(self, step, what, path):
        """Ask for a device's unplug by its alias (libvirt answers at once) and wait for it;
        False, the unplug left out, where the guest still has it after UNPLUG_WAIT_S."""
        import libvirt

        element = self._device(path)
        alias = None if element is None else element.find("alias")
        if alias is None:
            step.left_out.append(f"{what} unplug: libvirt named no alias for it")
            return False
        try:
            self.guest.domain.detachDeviceAlias(alias.get("name"),
                                                libvirt.VIR_DOMAIN_AFFECT_LIVE)
        except libvirt.libvirtError as err:
            step.left_out.append(f"{what} unplug: libvirt refused it: {err}")
            return False
        deadline = time.monotonic() + UNPLUG_WAIT_S
        while self._device(path) is not None:
            if time.monotonic() > deadline:
                step.left_out.append(f"{what} unplug: still plugged after {UNPLUG_WAIT_S} s "
                                     f"(a PCI unplug waits on the guest's ACPI, which a "
                                     f"paused guest never answers)")
                return False
            time.sleep(0.1)
        return True

    def _device(self, path):
        """The live XML's device element holding `path` ('devices/disk/target[@dev=...]')."""
        root = Domain.from_string(self.guest.domain.XMLDesc(0)).root
        holder = path.rsplit("/", 1)[0]
        return next((d for d in root.findall(holder) if d.find(path.rsplit("/", 1)[1])
                     is not None), None)

    def _running(self, step, when, walk, state):
        step.seen.append((when, state.describe(walk.baseline)))
        step.drifts += [f"{when}: {d}" for d in running_drifts(walk.baseline, state,
                                                               self.judged)]

    def _stopped(self, step, when, walk, state):
        step.seen.append((when, state.describe(walk.before)))
        step.drifts += [f"{when}: {d}" for d in stopped_drifts(walk.before, state,
                                                               self.judged)]

    def _image(self, step, what, path, state):
        if problem := image_exposed(state.files[path], self.identity):
            step.drifts.append(f"{what} {path} ({state.files[path] or 'absent'}): {problem}")
