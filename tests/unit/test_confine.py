"""No template can point its throwaway guest at the host: every host file, device, socket,
program or address a template names is redirected into the guest's folder or removed, and each
change is reported."""

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.template.domxml import Domain
from helpers.template.throwaway import Throwaway, instantiate

# Each element a production template may hold that names something on the host.
HOST_REFERENCES = {
    "serial file": "<serial type='file'><source path='/etc/motd'/><target port='0'/></serial>",
    "serial dev": "<serial type='dev'><source path='/dev/ttyS0'/><target port='1'/></serial>",
    "serial tcp": "<serial type='tcp'><source mode='connect' host='192.0.2.7' service='2445'/>"
                  "<protocol type='raw'/><target port='2'/></serial>",
    "parallel pipe": "<parallel type='pipe'><source path='/srv/pipe'/></parallel>",
    "console log": "<console type='pty'><log file='/var/log/prod-console.log'/></console>",
    "channel unix": "<channel type='unix'><source mode='connect' path='/run/prod/agent.sock'/>"
                    "<target type='virtio' name='org.qemu.guest_agent.0'/></channel>",
    "hostdev pci": "<hostdev mode='subsystem' type='pci' managed='yes'><source>"
                   "<address domain='0' bus='3' slot='0' function='0'/></source></hostdev>",
    "hostdev usb": "<hostdev mode='subsystem' type='usb'><source><vendor id='0x1234'/>"
                   "<product id='0xbeef'/></source></hostdev>",
    "hostdev scsi": "<hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host0'/>"
                    "<address bus='0' target='0' unit='0'/></source></hostdev>",
    "hostdev mdev": "<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address "
                    "uuid='c2177883-f1bb-47f0-914d-32a22e3a8804'/></source></hostdev>",
    "interface hostdev": "<interface type='hostdev' managed='yes'><source><address type='pci' "
                         "domain='0' bus='4' slot='0' function='1'/></source>"
                         "<driver name='vfio'/></interface>",
    "interface direct": "<interface type='direct'><source dev='eth0' mode='vepa'/>"
                        "<target dev='macvtap-prod'/></interface>",
    "interface vdpa": "<interface type='vdpa'><source dev='/dev/vhost-vdpa-0'/></interface>",
    "interface vhostuser": "<interface type='vhostuser'><source type='unix' "
                           "path='/run/ovs/vhu0' mode='client'/><model type='virtio'/>"
                           "</interface>",
    "interface ethernet": "<interface type='ethernet'><target dev='tap-prod' managed='no'/>"
                          "<script path='/etc/qemu-ifup'/><backend tap='/dev/net/tun'/>"
                          "</interface>",
    "interface ovs": "<interface type='bridge'><source bridge='ovsbr0'/><virtualport "
                     "type='openvswitch'/></interface>",
    "smartcard host": "<smartcard mode='host'/>",
    "smartcard tcp": "<smartcard mode='passthrough' type='tcp'><source mode='connect' "
                     "host='192.0.2.8' service='2001'/></smartcard>",
    "redirdev tcp": "<redirdev bus='usb' type='tcp'><source mode='connect' host='192.0.2.9' "
                    "service='4000'/></redirdev>",
    "rng egd": "<rng model='virtio'><backend model='egd' type='unix'><source mode='connect' "
               "path='/run/egd.sock'/></backend></rng>",
    "rng hwrng": "<rng model='virtio'><backend model='random'>/dev/hwrng</backend></rng>",
    "input evdev": "<input type='evdev'><source dev='/dev/input/event0'/></input>",
    "input passthrough": "<input type='passthrough' bus='virtio'><source "
                         "evdev='/dev/input/event1'/></input>",
    "tpm passthrough": "<tpm model='tpm-tis'><backend type='passthrough'><device "
                       "path='/dev/tpm0'/></backend></tpm>",
    "shmem": "<shmem name='looking-glass'><model type='ivshmem-plain'/><size unit='M'>32</size>"
             "</shmem>",
    "filesystem mount": "<filesystem type='mount'><source dir='/srv/prod'/><target "
                        "dir='prod'/></filesystem>",
    "filesystem file": "<filesystem type='file'><source file='/srv/fs.img'/><target "
                       "dir='img'/></filesystem>",
    "filesystem block": "<filesystem type='block'><source dev='/dev/sdb1'/><target "
                        "dir='blk'/></filesystem>",
    "virtiofs socket": "<filesystem type='mount'><driver type='virtiofs' queue='1024'/>"
                       "<source socket='/run/virtiofsd.sock'/><target dir='vfs'/></filesystem>",
    "virtiofs binary": "<filesystem type='mount' accessmode='passthrough'><driver "
                       "type='virtiofs'/><binary path='/usr/local/bin/virtiofsd'/><source "
                       "dir='/srv/vfs2'/><target dir='vfs2'/></filesystem>",
    "graphics socket": "<graphics type='vnc'><listen type='socket' socket='/run/prod-vnc.sock'/>"
                       "</graphics>",
    "audio file": "<audio id='1' type='file' path='/tmp/prod.wav'/>",
    "disk block": "<disk type='block' device='disk'><driver name='qemu' type='raw'/><source "
                  "dev='/dev/sdc'/><target dev='vdb' bus='virtio'/></disk>",
    "disk network": "<disk type='network' device='disk'><driver name='qemu' type='raw'/><source "
                    "protocol='rbd' name='pool/img'><host name='192.0.2.10' port='6789'/>"
                    "</source><target dev='vdc' bus='virtio'/></disk>",
    "cdrom": "<disk type='file' device='cdrom'><source file='/srv/iso/prod.iso'/><target "
             "dev='sda' bus='sata'/></disk>",
}
OS_REFERENCES = {
    "kernel": "<kernel>/boot/vmlinuz-prod</kernel><initrd>/boot/initrd-prod</initrd>"
              "<dtb>/boot/prod.dtb</dtb><cmdline>root=/dev/sda1</cmdline>",
    "nvram": "<loader readonly='no' type='pflash'>/srv/firmware/CODE.fd</loader>"
             "<nvram template='/usr/share/OVMF/OVMF_VARS_4M.ms.fd'>"
             "/var/lib/libvirt/qemu/nvram/prod_VARS.fd</nvram>",
}
TOP_REFERENCES = {
    "memory file": "<memoryBacking><source type='file'/></memoryBacking>",
    "resource": "<resource><partition>/machine/prod</partition></resource>",
    "raw qemu": "<qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
                "<qemu:arg value='-chardev'/><qemu:arg value='file,id=x,path=/etc/shadow'/>"
                "</qemu:commandline>",
}
# Paths a throwaway guest may name outside its folder: read-only parts of the host's QEMU and
# firmware packages, and the host's random source.
READ_ONLY_HOST_PATHS = ("/usr/bin/qemu-system-x86_64", "/usr/share/OVMF/", "/srv/firmware/",
                        "/dev/urandom")
HOST_ADDRESS = re.compile(r"192\.0\.2\.\d+")


def template(devices, os_extra="", top=""):
    return Domain.from_string(
        f"<domain type='kvm'><name>prod</name><memory>1048576</memory>"
        f"<os><type arch='x86_64' machine='q35'>hvm</type>{os_extra}</os>{top}<devices>"
        f"<emulator>/usr/bin/qemu-system-x86_64</emulator>"
        f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
        f"<source file='/var/lib/libvirt/images/prod.qcow2'/><target dev='vda' bus='virtio'/>"
        f"</disk>{devices}</devices></domain>")


def throwaway(folder):
    shares = {tag: folder / f"share-{tag}" for tag in ("prod", "img", "blk", "vfs", "vfs2")}
    return Throwaway(name="vmiso-t-1", mac="52:54:00:00:00:10", overlay=folder / "disk.qcow2",
                     seed=folder / "seed.tar", network="vmiso-lab", scratch_dir=folder,
                     accelerator="kvm", share_dirs=shares)


def host_references(xml, folder):
    """Every path outside the guest's folder, and every address, the XML still names."""
    root = ET.fromstring(xml)
    values = [v for e in root.iter() for v in [*e.attrib.values(), (e.text or "").strip()]]
    paths = [v for v in values if v.startswith("/") and not v.startswith(str(folder) + "/")
             and not v.startswith(READ_ONLY_HOST_PATHS)]
    return paths + [v for v in values if HOST_ADDRESS.search(v)]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(devices=st.sets(st.sampled_from(sorted(HOST_REFERENCES)), min_size=1),
       os_extra=st.sets(st.sampled_from(sorted(OS_REFERENCES))),
       top=st.sets(st.sampled_from(sorted(TOP_REFERENCES))))
def test_no_host_path_or_address_reaches_the_throwaway_guest(devices, os_extra, top, tmp_path):
    dom = template("".join(HOST_REFERENCES[d] for d in sorted(devices)),
                   "".join(OS_REFERENCES[o] for o in sorted(os_extra)),
                   "".join(TOP_REFERENCES[t] for t in sorted(top)))
    xml, _ = instantiate(dom, throwaway(tmp_path))
    assert host_references(xml, tmp_path) == []


def test_every_change_is_reported(tmp_path):
    dom = template("".join(HOST_REFERENCES.values()), "".join(OS_REFERENCES.values()),
                   "".join(TOP_REFERENCES.values()))
    xml, adaptations = instantiate(dom, throwaway(tmp_path))
    text = "\n".join(adaptations)
    for named in ("/etc/motd", "/dev/ttyS0", "192.0.2.7:2445", "/srv/pipe",
                  "/var/log/prod-console.log", "/run/prod/agent.sock", "<hostdev type='pci'",
                  "<hostdev type='usb'", "<hostdev type='scsi'", "<hostdev type='mdev'",
                  "<interface type='hostdev'>", "<interface type='direct'>",
                  "<interface type='vdpa'>", "<interface type='vhostuser'>", "<script>",
                  "<virtualport>", "<smartcard mode='host'>", "<redirdev type='tcp'>",
                  "egd", "/dev/hwrng", "<input type='evdev'>", "<input type='passthrough'",
                  "passthrough of the host's TPM", "<shmem name='looking-glass'>",
                  "<filesystem type='file'>", "<filesystem type='block'>",
                  "/run/virtiofsd.sock", "/usr/local/bin/virtiofsd", "/run/prod-vnc.sock",
                  "<audio type='file'>", "/boot/vmlinuz-prod", "/boot/initrd-prod",
                  "/boot/prod.dtb", "readonly='no'", "prod_VARS.fd", "memoryBacking",
                  "<resource>", "<qemu:commandline>"):
        assert named in text, named
    assert ET.fromstring(xml).find("devices/hostdev") is None


def test_raw_qemu_is_kept_when_allowed(tmp_path):
    spec = throwaway(tmp_path)
    spec.allow_raw_qemu = True
    xml, adaptations = instantiate(template("", top=TOP_REFERENCES["raw qemu"]), spec)
    assert "/etc/shadow" in xml and not adaptations


def test_uefi_variables_are_made_in_the_guests_folder(tmp_path):
    dom = Domain.from_string(template("").to_string().replace("<os>", "<os firmware='efi'>"))
    xml, _ = instantiate(dom, throwaway(tmp_path))
    assert ET.fromstring(xml).findtext("os/nvram") == str(tmp_path / "nvram_VARS.fd")


@pytest.mark.parametrize("kind", ["pty", "null", "spicevmc", "unix"])
def test_channels_that_name_nothing_on_the_host_are_kept(kind, tmp_path):
    channel = f"<channel type='{kind}'><target type='virtio' name='org.qemu.guest_agent.0'/>" \
              f"</channel>"
    xml, adaptations = instantiate(template(channel), throwaway(tmp_path))
    assert ET.fromstring(xml).find("devices/channel").get("type") == kind
    assert not adaptations


def test_the_console_log_stays_where_boot_errors_are_read(tmp_path):
    xml, _ = instantiate(template(HOST_REFERENCES["console log"]), throwaway(tmp_path))
    assert ET.fromstring(xml).find("devices/console/log").get("file") == \
        str(Path(tmp_path) / "console.log")
