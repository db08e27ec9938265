"""Throwaway guests: boot one from a template, reach it over SSH, destroy it and its files.

    with launch(target, template, image, "tcg") as guest:
        guest.host.run("uname -r")      # testinfra Host
        guest.live                      # Domain of the XML libvirt is running
        guest.template                  # Domain of the template as given

    with launch_together(2, target, template, image, "tcg") as (guest, sibling):
        ...                             # both booted at once, where the host has the cores

A guest is a transient libvirt domain named <prefix><template>-<n> on a qcow2 overlay of the
read-only base image (a helpers.guestimage.GuestImage: the probe guest or a cloud image);
nothing of it survives the `with` block, even when a test failed inside it. Its overlay, seed and
console log live on the hypervisor's host under target.workroot (written over SFTP when the host
is remote, where the base image is copied once and kept by its hash).
"""

import contextlib
import dataclasses
import functools
import itertools
import threading
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import libvirt

from helpers.host import libvirtconn, qmp, sshchannels
from helpers.host.errors import HypervisorError
from helpers.hostconfig import confinement
from helpers.local import diskspace, scratch, teardown, waits
from helpers.template import rules
from helpers.template.domxml import Domain
from helpers.template.machines import HostQemu
from helpers.template.refusal import Refusal
from helpers.template.throwaway import Throwaway, instantiate
from helpers.template.unhonoured import drop as drop_unhonoured
from helpers.vm import bootstall, cloudinit, diskimage, imagecache, macs, ssh
from helpers.vm.guestroute import unanswerable_source
from helpers.vm.image import CLOUD
from helpers.vm.leasewatch import LeaseWatch, libvirt_serves_dhcp
from helpers.vm.readings import take as take_readings
from helpers.vm.runmark import MARK_FILE, RunMark
from helpers.vm.shell import Shell

BOOT_TIMEOUT = 240
CREATE_TIMEOUT_S = 300  # libvirt starting QEMU, swtpm and the firmware under TCG: seconds
# A boot's whole length, each of its waits bounded: its turn to create, the creation, the lease,
# SSH, and the image copy it may queue behind
BOOT_LIMIT_S = 2 * CREATE_TIMEOUT_S + 2 * BOOT_TIMEOUT + imagecache.COPY_QUEUE_S + 60
LEASE_POLL_S = 0.05  # libvirt's lease list, asked this often while a guest boots
STALL_S = 2  # a console that ends at a boot prompt this long is stopped there
# A guest's first SYNs meet its traffic filter still learning the lease: short handshakes,
# each a little longer, then the kernel's own retransmissions
QUICK_CONNECT_S, QUICK_CONNECT_MAX_S, QUICK_CONNECT_FOR_S = 0.15, 1.0, 30
OVERLAY = "disk.qcow2"
# The guest's disk and keys are its owner's alone: libvirt hands them to the guest's QEMU user,
# and a neighbour under another uid must not read them
PRIVATE = 0o600
_counter = itertools.count(1)
# libvirt makes a host's machine cgroup partition when its first guest starts; two guests
# started at once in a fresh libvirtd race on it (one's error path removes the other's cgroup:
# "Unable to write to .../cpuset.memory_migrate: No such file or directory")
_CREATING = threading.Lock()


class GuestError(Exception):
    """A guest could not be created or reached; the message says what went wrong."""


class TemplateRefused(GuestError):
    """libvirt refused an element of the template that this host cannot run; the message
    names it and the fix."""


class GuestStalled(GuestError):
    """The guest stopped at a firmware or boot loader prompt (helpers/vm/bootstall.py): it runs,
    and will never boot further."""


@dataclass
class Guest:
    name: str
    domain: libvirt.virDomain
    template: Domain
    address: str
    host: object  # testinfra.host.Host
    workdir: Path
    share_dirs: dict
    adaptations: list
    accelerator: str
    boot: str  # "direct" (the probe kernel through fw_cfg) or "disk"
    hypervisor: object  # where workdir and the share folders are (helpers/host/hypervisor.py)
    timings: dict = field(default_factory=dict)
    adapted_controls: list = field(default_factory=list)  # rules.adapted: no drift for these
    probe_binary: str = "/bin/vmiso-probe"  # vmiso-probe's path in the guest
    broken: str = ""  # why SSH to the guest broke down; later commands fail at once
    neighbour: "Guest" = None  # the sibling booted beside it, which guest-to-guest probes aim at

    @property
    def overlay(self):
        """The guest's writable disk on the hypervisor's host: a qcow2 overlay of the base."""
        return self.workdir / OVERLAY

    @functools.cached_property
    def qtree(self):
        """QEMU's device tree for this guest (`info qtree` through the monitor), read once."""
        return qmp.hmp(self.domain, "info qtree")

    @functools.cached_property
    def readings(self):
        """Read-only observations of the guest, taken together in one SSH round trip at the
        first check that reads one (helpers/vm/readings.py)."""
        return take_readings(self)

    def plant_in_shares(self, name, text):
        """Write file `name` holding `text` into every host folder the guest's shares expose."""
        for folder in self.share_dirs.values():
            self.hypervisor.write_bytes(folder / name, text.encode(), mode=0o644)

    def shares_holding(self, name, text):
        """The host share folders whose file `name` holds `text`."""
        found = []
        for folder in self.share_dirs.values():
            try:
                if text in self.hypervisor.read_text(folder / name):
                    found.append(str(folder))
            except FileNotFoundError:
                continue
        return found

    @property
    def qemu_devices(self):
        """QEMU device types instantiated for this guest: every one on a bus, and every one
        libvirt gave QEMU (on a bus or not)."""
        return qmp.qtree_devices(self.qtree) | qmp.peripheral_devices(self.domain)

    @property
    def live(self):
        """The domain XML as libvirt runs it (implicit devices included)."""
        return Domain.from_string(self.domain.XMLDesc(0))

    def run(self, command, *args):
        """Run a command in the guest, arguments quoted; raises GuestError if SSH broke down.

        Once SSH broke down (a timeout, a dead session) or the domain stopped, every later
        command fails at once: nothing seen in the guest after that could be trusted anyway."""
        with self._over_ssh():
            return self.host.run(command, *args)

    @contextlib.contextmanager
    def shell(self):
        """A shell kept open in the guest (helpers/vm/shell.py): `.run(command)` costs a round
        trip, not a new SSH session; raises GuestError as run() does."""
        with self._over_ssh():
            backend = self.host.backend
            chan = sshchannels.start(backend.client.get_transport(),
                                     backend.get_command(Shell.COMMAND), backend.timeout,
                                     ssh.GuestUnreachable, backend.address)
            with Shell(chan, backend.address, backend.timeout, ssh.GuestUnreachable) as sh:
                yield sh

    @contextlib.contextmanager
    def _over_ssh(self):
        """GuestError where the guest cannot be observed, or SSH breaks down inside: the
        guest is marked broken then."""
        if not self.broken and not self._running():
            self.broken = "the domain is no longer running"
        if self.broken:
            raise GuestError(f"guest {self.name} cannot be observed: {self.broken}")
        try:
            yield
        except ssh.GuestUnreachable as err:
            self.broken = str(err)
            raise GuestError(f"guest {self.name}: {err}") from None

    def _running(self):
        try:
            return bool(self.domain.isActive())
        except libvirt.libvirtError as err:
            # a transient domain that was destroyed is gone; any other error is the
            # connection's, not the guest's: SSH decides
            return err.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN


@contextlib.contextmanager
def launch(target, template, image, accelerator, raw_qemu=False, cancelled=None):
    """Boot a guest of `template` on `image` through `target` (see fixtures/lab.py); with
    `raw_qemu` its <qemu:commandline> and <qemu:override> run as given. The boot gives up
    once `cancelled` (a threading.Event) is set."""
    hypervisor = target.hypervisor
    name, workdir = _workdir(target, template)
    domain = host = None
    ended = False
    try:
        spec, keys, xml, adaptations = _stage(workdir, name, template, image, target,
                                              accelerator, raw_qemu)
        started = time.monotonic()
        with _lease_source(target, name) as watch:
            domain, xml, unhonoured = _create(target, template, xml)
            adaptations = adaptations + unhonoured
            created = time.monotonic()
            console = functools.partial(_console_tail, hypervisor, workdir)
            boot = _BootWatch(hypervisor, workdir / "console.log", domain.name(), console,
                              cancelled or threading.Event())
            address = _wait_for_lease(target, domain, spec.mac, boot, watch)
        leased = time.monotonic()
        if target.lab is None and (problem := unanswerable_source(target, template, address)):
            raise GuestError(problem)
        host = _wait_for_ssh(target, domain, address, keys, image.user, boot)
        ready = time.monotonic()
        guest = Guest(name, domain, template, address, host, workdir, spec.share_dirs,
                      adaptations, accelerator, "direct" if spec.direct_boot else "disk",
                      hypervisor, {"create_s": created - started,
                                   "create_to_lease_s": leased - started,
                                   "create_to_ssh_s": ready - started},
                      adapted_controls=rules.adapted(template, Domain.from_string(xml)))
        if image.kind == CLOUD:
            guest.probe_binary = _copy_in(guest, image.probe_tool)
        yield guest
        ended = True
    finally:
        steps = [host.backend.close] if host is not None else []
        if domain is not None:
            steps.append(functools.partial(_destroy, target, domain))
        steps.append(functools.partial(_remove, target, template, name, workdir))
        teardown.run_all(steps, raising=ended)



@dataclass
class Paused:
    """A domain of the template, its files made, that start() creates paused: QEMU runs, no
    guest code does."""

    target: object
    template: Domain
    xml: str  # the domain XML libvirt is given
    spec: Throwaway  # the files made for it (overlay, seed, scratch disks)
    domain: libvirt.virDomain = None

    def start(self):
        self.domain, self.xml, _ = _create(self.target, self.template, self.xml,
                                           libvirt.VIR_DOMAIN_START_PAUSED)

    def stop(self):
        """Destroy it and return once libvirt has finished (restored what it relabelled)."""
        try:
            self.domain.destroy()
        except libvirt.libvirtError as err:
            if err.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                raise GuestError(f"libvirt could not stop {self.spec.name}: {err}") from None


@contextlib.contextmanager
def paused(target, template, image, accelerator, raw_qemu=False):
    """A Paused domain of `template` with the files launch() gives a guest, for what libvirt
    does to the host's files around a guest; stopped and gone, with its files, on exit."""
    name, workdir = _workdir(target, template)
    guest = None
    try:
        spec, _, xml, _ = _stage(workdir, name, template, image, target, accelerator, raw_qemu)
        guest = Paused(target, template, xml, spec)
        yield guest
    finally:
        if guest is not None and guest.domain is not None:
            guest.stop()
        _remove(target, template, name, workdir)


def _workdir(target, template):
    """A new guest's name and its folder on the hypervisor's host, holding the run's mark."""
    name = f"{target.domain_prefix}{_safe(template.name) or 'guest'}-{next(_counter)}"
    workdir = target.workroot / name
    _require_space(target.hypervisor, target.workroot)
    target.hypervisor.make_dir(workdir)
    try:
        target.hypervisor.write_bytes(workdir / MARK_FILE,
                                      RunMark.current(target.run_id).to_text().encode())
    except BaseException:
        target.hypervisor.remove_tree(workdir)
        raise
    return name, workdir


def _create(target, template, xml, flags=0):
    """(the domain, the XML libvirt runs, [what was dropped for it]): an element the host
    cannot honour for a host reason is removed and said (helpers/template/unhonoured.py), and
    the guest started without it."""
    dropped = []
    while True:
        try:
            with waits.acquired(_CREATING, CREATE_TIMEOUT_S, "another guest's start by "
                                "libvirt", GuestError):
                domain = waits.within(functools.partial(target.conn.createXML, xml, flags),
                                      CREATE_TIMEOUT_S, f"libvirt starting a guest of "
                                      f"{template.name}", GuestError)
            return domain, xml, dropped
        except libvirt.libvirtError as err:
            message = err.get_error_message()
            root = ET.fromstring(xml)
            change = drop_unhonoured(root, message)
            if change is None:
                refusal = Refusal.of(message, template)
                raise (GuestError if refusal.on_host else TemplateRefused)(str(refusal)) \
                    from None
            dropped.append(change)
            xml = ET.tostring(root, encoding="unicode")


def _remove(target, template, name, workdir):
    if template.root.find("devices/tpm") is not None:
        _remove_log(target.hypervisor, SWTPM_LOG.format(name=name))
    if target.lab is None:  # a lab's logs go with the lab
        _remove_log(target.hypervisor, QEMU_LOG.format(name=name))
    target.hypervisor.remove_tree(workdir)


@contextlib.contextmanager
def launch_together(count, target, template, image, accelerator, raw_qemu=False):
    """`count` guests of one template, booted at once (one after the other where that is
    faster: _one_at_a_time). Every guest that booted is destroyed on exit, also when another
    failed to boot or the run was interrupted while they booted: an interrupt makes every boot
    still waiting for its guest give up at once, and one not begun never begins."""
    cancelled = threading.Event()
    managers = [launch(target, template, image, accelerator, raw_qemu, cancelled)
                for _ in range(count)]
    at_once = 1 if _one_at_a_time(count, target, template, accelerator) else count
    with contextlib.ExitStack() as stack:
        with ThreadPoolExecutor(at_once, thread_name_prefix="vmiso-boot") as pool:
            futures = [pool.submit(manager.__enter__) for manager in managers]
            try:
                for future in futures:
                    future.exception(timeout=BOOT_LIMIT_S)  # wait, whatever the outcome
            except TimeoutError:
                cancelled.set()
                raise GuestError(f"a guest of {template.name} was still booting after "
                                 f"{BOOT_LIMIT_S} s") from None
            except BaseException:
                cancelled.set()
                raise
            finally:
                # however the wait ended (an interrupt included), let every boot end (one not
                # begun yet never begins) and keep the guests that came up for cleanup
                pool.shutdown(wait=True, cancel_futures=cancelled.is_set())
                for manager, future in zip(managers, futures):
                    if not future.cancelled() and future.exception() is None:
                        stack.push(manager.__exit__)
        yield [future.result() for future in futures]


def _one_at_a_time(count, target, template, accelerator):
    """Whether the guests boot one after the other: under TCG, UEFI guests whose vCPUs outnumber
    the host's CPUs. OVMF's SMM has every vCPU of a guest meet at each SMI, and two such guests
    on too few cores keep each other's vCPUs waiting (two guests of a four-vCPU Secure Boot
    template on two cores here: 145 s at once, 51 s and then 55 s one after the other; a guest
    booting the probe kernel directly boots faster beside its sibling)."""
    if count < 2 or accelerator != "tcg" or not template.uses_uefi:
        return False
    try:
        cpus = target.conn.getInfo()[2]
    except libvirt.libvirtError:
        return False
    return count * template.vcpus > cpus


def _stage(workdir, name, template, image, target, accelerator, raw_qemu):
    """Everything the guest needs before libvirt starts it: overlay, seed, scratch disks and
    share folders on the hypervisor, and the domain XML."""
    try:
        spec = _prepare(workdir, name, template, image, target, accelerator, raw_qemu)
        keys = _seed(spec, image, target.hypervisor)
        xml, adaptations = instantiate(template, spec)
        for disk, size in spec.scratch_files.items():
            target.hypervisor.make_sparse(disk, size)
            target.hypervisor.run("chmod", f"{PRIVATE:o}", str(disk))
        _give_to_qemu(target, template, spec.unrelabelled)
    except (HypervisorError, OSError, libvirt.libvirtError) as err:
        raise GuestError(f"the guest's files could not be made in {workdir} on "
                         f"{target.uri}'s host: {err}") from None
    return spec, keys, xml, adaptations


def _give_to_qemu(target, template, files):
    """`files` owned by the uid:gid QEMU runs under (the template's DAC label, else the
    host's), as an operator gives a disk libvirt is told to leave as it is."""
    if files:
        label = template.dac_label or confinement.dac_base_label(target.conn)
        uid, gid = confinement.dac_ids(label)
        for path in sorted(files):
            target.hypervisor.run("chown", f"{uid}:{gid}", str(path))


def _require_space(hypervisor, workroot):
    try:
        diskspace.require(workroot, "the guest's overlay, seed and console log",
                          free_mib=hypervisor.free_mib)
    except diskspace.DiskSpaceError as err:
        raise GuestError(str(err)) from None


def _safe(text):
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text)[:24]


def _prepare(workdir, name, template, image, target, accelerator, raw_qemu):
    hypervisor = target.hypervisor
    overlay = workdir / OVERLAY
    base = target.images.provide(image.path)
    try:
        hypervisor.run("qemu-img", "create", "-q", "-f", "qcow2", "-F",
                       diskimage.image_format(image.path), "-b", str(base), str(overlay))
        hypervisor.run("chmod", f"{PRIVATE:o}", str(overlay))
    except HypervisorError as err:
        raise GuestError(f"qemu-img cannot put an overlay on {image.path}: {err}") from None
    shares = {}
    for fs in template.filesystems:
        folder = workdir / f"share-{_safe(fs.tag)}"
        hypervisor.make_dir(folder)
        shares[fs.tag] = folder
    nics = len(template.root.findall("devices/interface"))
    return Throwaway(name=name, mac=free_mac(target, nics), overlay=overlay,
                     seed=workdir / image.seed_name, network=target.network,
                     scratch_dir=workdir, accelerator=accelerator, share_dirs=shares,
                     memory_limits=confinement.can_raise_resource_limits(hypervisor,
                                                                      target.daemon_pid),
                     mark=RunMark.current(target.run_id), allow_raw_qemu=raw_qemu,
                     displays_on_loopback=target.lab is None,
                     host_qemu=_host_qemu(target.conn, accelerator),
                     security_models=tuple(confinement.security_models(target.conn)),
                     direct_boot=_direct_boot(target, template, image),
                     boot_memory_mib=image.boot_memory_mib(template))


def free_mac(target, count=1):
    """A random MAC that, with the `count` - 1 after it (a template's other interfaces), no
    domain of the host and none of its own interfaces has (helpers/vm/macs.py)."""
    taken = macs.interface_macs(target.hypervisor.run("sh", "-c", macs.READ))
    for domain in target.conn.listAllDomains(0):
        try:
            taken |= macs.domain_macs(domain.XMLDesc(0))
        except libvirt.libvirtError as err:
            if err.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                raise
            # gone since it was listed (another run's guest): no MAC to avoid
    try:
        return macs.free_mac(taken, count)
    except macs.NoFreeMac as err:
        raise GuestError(str(err)) from None


def _host_qemu(conn, accelerator):
    """The emulators, machines and UEFI firmware this host's libvirt offers."""
    try:
        domain_caps = conn.getDomainCapabilities(None, "x86_64", None,
                                                 "qemu" if accelerator == "tcg" else "kvm")
    except libvirt.libvirtError:
        domain_caps = None  # no firmware to offer: a template's own loader is kept
    return HostQemu.parse(conn.getCapabilities(), domain_caps)


def _direct_boot(target, template, image):
    """The probe image's kernel and initramfs, copied where the hypervisor's QEMU reads them."""
    boot = image.direct_boot
    if boot is None or not boot.fits(template):
        return None
    return dataclasses.replace(boot, kernel=target.images.provide(boot.kernel),
                               initrd=target.images.provide(boot.initrd))


def _seed(spec, image, hypervisor):
    """The guest's keys, written to its seed on the hypervisor: a tar archive for the probe
    guest, a cloud-init NoCloud ISO for a cloud image."""
    with scratch.folder("keys") as keys_dir:  # a killed run's is swept by the next
        try:
            keys = ssh.GuestKeys.generate(keys_dir, openssh=image.kind == CLOUD)
        except ssh.GuestUnreachable as err:
            raise GuestError(str(err)) from None
        if image.kind == CLOUD:
            seed = Path(keys_dir) / "seed.iso"
            cloudinit.seed_iso(seed, instance_id=spec.name, hostname=spec.name,
                               user=image.user, authorized_key=keys.authorized_key.strip(),
                               host_key_private=keys.host_private_openssh,
                               host_key_public=keys.host_public_line)
            data = seed.read_bytes()
        else:
            data = keys.seed_archive()
    hypervisor.write_bytes(spec.seed, data, mode=PRIVATE)
    return keys


def _copy_in(guest, tool):
    """vmiso-probe into the login user's home, over SFTP; its path in the guest."""
    try:
        return ssh.upload(guest.host, tool, "vmiso-probe", mode=0o755)
    except ssh.GuestUnreachable as err:
        raise GuestError(f"guest {guest.name}: {err}") from None


@contextlib.contextmanager
def _lease_source(target, name):
    """None where libvirt hands out the guest's address (its leases tell it); else a watch of
    the guest's tap for the DHCPACK another server sends (helpers/vm/leasewatch.py)."""
    if target.lab is not None or libvirt_serves_dhcp(target.conn, target.network):
        yield None
        return
    try:
        watch = LeaseWatch.start(target, name)
    except HypervisorError as err:
        raise GuestError(f"the guests' addresses on network {target.network} come from a DHCP "
                         f"server libvirt does not run, and cannot be watched for: {err}") \
            from None
    try:
        yield watch
    finally:
        watch.close()


class _BootWatch:
    """What ends a boot before its timeout: the run interrupted (GuestError), or the guest's
    console ended at a boot prompt, unchanged, for STALL_S (GuestStalled; the console is read
    at most once a second). Called, the console's tail."""

    def __init__(self, hypervisor, path, name, console, cancelled):
        self.hypervisor, self.path, self.name, self.console = hypervisor, path, name, console
        self.cancelled = cancelled
        self.text, self.since, self.next_read = None, 0.0, 0.0

    def __call__(self):
        return self.console()

    def check(self):
        if self.cancelled.is_set():
            raise GuestError(f"the boot of guest {self.name} was given up: the run was "
                             f"interrupted")
        now = time.monotonic()
        if now < self.next_read:
            return
        self.next_read = now + 1
        try:
            text = self.hypervisor.read_bytes(self.path).decode(errors="replace")
        except (OSError, HypervisorError):
            return
        prompt = bootstall.stalled(text)
        if prompt is None or text != self.text:
            self.text, self.since = text, now
            return
        if now - self.since >= STALL_S:
            raise GuestStalled(f"guest {self.name} stopped at {prompt} and will boot no "
                               f"further{self.console()}")


def _wait_for_lease(target, domain, mac, boot, watch=None):
    if watch is not None:
        watch.follow(domain)
        leased = functools.partial(watch.address, mac)
    else:
        leased = functools.partial(_libvirt_lease, target.conn.networkLookupByName(target.network),
                                   mac)
    deadline = time.monotonic() + BOOT_TIMEOUT
    while time.monotonic() < deadline:
        _require_running(domain, boot)
        boot.check()
        address = leased()
        if address:
            return address
        time.sleep(LEASE_POLL_S)
    raise GuestError(f"guest {domain.name()} got no DHCP lease within {BOOT_TIMEOUT}s"
                     f"{boot()}")


def _libvirt_lease(network, mac):
    return next((lease["ipaddr"] for lease in network.DHCPLeases(mac)
                 if lease["type"] == libvirt.VIR_IP_ADDR_TYPE_IPV4), None)


def _wait_for_ssh(target, domain, address, keys, user, boot):
    started = time.monotonic()
    deadline = started + BOOT_TIMEOUT
    last, attempt = None, QUICK_CONNECT_S
    while time.monotonic() < deadline:
        _require_running(domain, boot)
        boot.check()
        # short handshakes at first: a SYN dropped while the filter waits for the lease is
        # better sent again than retransmitted a second later
        quick = time.monotonic() < started + QUICK_CONNECT_FOR_S
        try:
            return ssh.connect(address, keys, target.open_socket, user=user,
                               connect_timeout=attempt if quick else None)
        except ssh.GuestUnreachable as err:
            # each a fifth longer; a guest that refuses for minutes is tried thousands of times
            last, attempt = err, min(attempt * 1.2, QUICK_CONNECT_MAX_S)
            time.sleep(0.05)
    raise GuestError(f"guest {domain.name()} at {address} never answered SSH within "
                     f"{BOOT_TIMEOUT}s ({last}){boot()}")


def _require_running(domain, console):
    try:
        running = domain.isActive()
    except libvirt.libvirtError:
        running = False
    if not running:
        raise GuestError(f"guest {domain.name()} stopped while booting{console()}")


def _console_tail(hypervisor, workdir, lines=8):
    try:
        text = hypervisor.read_bytes(workdir / "console.log").decode(errors="replace")
    except (OSError, HypervisorError):
        return ""
    tail = text.strip().splitlines()[-lines:]
    return "; console: " + " | ".join(tail) if tail else ""


# libvirt keeps a TPM emulator's log after its guest is gone (its state it removes with a
# transient guest); the lab keeps its own /var/log.
SWTPM_LOG = "/var/log/swtpm/libvirt/qemu/{name}-swtpm.log"
QEMU_LOG = "/var/log/libvirt/qemu/{name}.log"  # libvirt's log of the guest's QEMU, on the host


def _remove_log(hypervisor, path):
    try:
        hypervisor.run("rm", "-f", "--", path)
    except HypervisorError:
        pass  # the guest's files are gone; a log left behind is not worth failing the run


def _destroy(target, domain):
    """Destroy the guest, through a fresh connection if the run's one died (libvirtd
    restarted); a guest already gone is fine. A lab's guest is killed outright."""
    if target.lab is not None and target.lab.discard_guest(domain.name()):
        return
    try:
        domain.destroy()
        return
    except libvirt.libvirtError as err:
        if err.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return
    conn = libvirtconn.open_connection(target.uri)
    try:
        conn.lookupByName(domain.name()).destroy()
    except libvirt.libvirtError as err:
        if err.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
            raise
    finally:
        conn.close()
