"""Xen xl.cfg files read as libvirt domain XML (helpers/template/xlcfg.py and xlxml.py).

The HVM, PV and PVH cases carry the facts of libvirt's own pairs (tests/xlconfigdata/*.cfg and
*.xml: what `virsh domxml-from-native xen-xl` writes), in files of our own.
"""

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.template import xlcfg
from helpers.template.domxml import Domain
from helpers.template.rules import findings
from helpers.template.xlcfg import XlCfgError, looks_like_xl_cfg, parse, to_domain_xml

XEN_NS = "{http://libvirt.org/schemas/domain/xen/1.0}"

HVM = """\
# An HVM guest on an LVM volume, with a CD-ROM, SPICE and the clipboard shared
name = "web"
uuid = "c7a5fdb2-cdaf-9455-926a-d65c16db1809"
maxmem = 1024
memory = 512
vcpus = 2
builder = "hvm"
boot = "dc"
disk = [ "format=raw, vdev=hda, access=rw, backendtype=phy, target=/dev/vg0/web",
         "/var/lib/xen/images/web-data.qcow2,qcow2,sdb,w",
         "/srv/iso/installer.iso,raw,hdc,ro,devtype=cdrom",
         "format=raw,vdev=xvdc,target=/var/lib/xen/images/web-pv.img", ]
vif = [ "mac=00:16:3E:66:92:9C,bridge=xenbr1,script=vif-bridge,model=e1000",
        "bridge=xenbr0,type=ioemu",
        "bridge=xenbr0,type=vif,vifname=web-pv" ]
spice = 1
spicehost = "0.0.0.0"
spiceport = 5930
spicedisable_ticketing = 0
spicepasswd = "s3cret"
spiceagent_mouse = 1
spicevdagent = 1
spice_clipboard_sharing = 1
spiceusbredirection = 2
soundhw = "ac97"
usbdevice = [ "tablet" ]
pci = [ "0000:01:1a.1", "02:00.0,permissive=1" ]
nestedhvm = 1
serial = "pty"
parallel = "none"
on_crash = "preserve"
"""

PV = """\
name = "mail"
type = "pv"
memory = 512
kernel = "/boot/vmlinuz-xen"
ramdisk = "/boot/initrd-xen"
root = "/dev/xvda1"
extra = "console=hvc0"
disk = [ "phy:/dev/vg0/mail,xvda,w", "/var/lib/xen/images/mail-swap.img,raw,hda,w" ]
vif = [ "mac=00:16:3e:00:00:02" ]
vfb = [ "vnc=1,vnclisten=127.0.0.1,vncpasswd=pvpass,vncdisplay=3" ]
usbctrl = [ "type=qusb,version=1,ports=4" ]
usbdev = [ "hostbus=1,hostaddr=3" ]
channel = [ "connection=socket,path=/run/mail-agent.sock,name=org.qemu.guest_agent.0" ]
e820_host = 1
"""

PVH = """\
name = "dns"; type = "pvh"; memory = 256
kernel = "/boot/vmlinuz"
cmdline = "root=/dev/xvda1 ro"
disk = [ "vdev=xvda, target=/var/lib/xen/images/dns.img" ]
vif = [ "bridge=xenbr0" ]
"""


def xml_of(text, name=""):
    return ET.fromstring(to_domain_xml(text, name))


def domain(text, name=""):
    return Domain.from_string(to_domain_xml(text, name))


def disks(root):
    """(target dev, device, bus, type, driver name, driver type) of each disk."""
    return [(d.find("target").get("dev"), d.get("device"), d.find("target").get("bus"),
             d.get("type"), d.find("driver").get("name"), d.find("driver").get("type"))
            for d in root.findall("devices/disk")]


# The file syntax.

def test_strings_numbers_lists_comments_and_separators():
    text = """\ufeff
    name = 'web' ; memory = 0x200   # hex, as xl reads it
    extra = "console=hvc0 \\"quoted\\""
    disk = [ 'a',
             "b", # a comment inside a list
           ]
    empty = [ ]
    vnuma = [ [ "pnode=0", "size=512" ], [ "pnode=1" ] ]
    ratio = 1.5
    """
    assert parse(text) == {"name": "web", "memory": 512, "extra": 'console=hvc0 "quoted"',
                           "disk": ["a", "b"], "empty": [],
                           "vnuma": [["pnode=0", "size=512"], ["pnode=1"]], "ratio": 1.5}


def test_a_key_set_twice_keeps_its_last_value_and_plus_equals_appends():
    assert parse('memory = 256\nmemory = 512\n') == {"memory": 512}
    assert parse('vif = [ "a" ]\nvif += [ "b" ]\nextra = "x"\nextra += " y"') == \
        {"vif": ["a", "b"], "extra": "x y"}


def xl_text(value, quote):
    if isinstance(value, list):
        return "[\n  " + "".join(xl_text(v, quote) + ",\n  " for v in value) + "]"
    if isinstance(value, str):
        return quote + value.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote
    return str(value)


KEYS = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)
STRINGS = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r\ufeff"),
                  max_size=20)
ATOMS = st.integers(min_value=0, max_value=2**48) | STRINGS
VALUES = st.recursive(ATOMS, lambda inner: st.lists(inner, max_size=4), max_leaves=8)


@settings(max_examples=200)
@given(st.dictionaries(KEYS, VALUES, max_size=8), st.sampled_from(["'", '"']),
       st.sampled_from(["\n", " ;\n", "\n# a comment\n\n"]))
def test_settings_written_as_xl_cfg_read_back_the_same(values, quote, separator):
    text = separator.join(f"{key} = {xl_text(value, quote)}" for key, value in values.items())
    assert parse(text) == values


@settings(max_examples=300)
@given(st.text(max_size=80))
def test_any_text_reads_or_fails_with_one_line_that_names_where(text):
    try:
        to_domain_xml(text, name="fallback")
    except XlCfgError as err:
        assert "\n" not in str(err) and str(err)


MAPPED_KEYS = ("type", "builder", "memory", "maxmem", "vcpus", "maxvcpus", "uuid", "boot",
               "bios", "disk", "vif", "vfb", "pci", "usbctrl", "usbdev", "usbdevice", "channel",
               "p9", "serial", "parallel", "soundhw", "vga", "stdvga", "videoram", "vnc", "sdl",
               "vncunused", "vncdisplay", "spice", "spiceport", "spicepasswd",
               "spicedisable_ticketing", "spiceusbredirection", "nestedhvm", "cpuid", "hap",
               "tsc_mode", "hpet", "e820_host", "passthrough", "on_crash", "rtc_timeoffset",
               "device_model_args", "max_grant_frames", "kernel", "root", "extra")
SPEC_WORDS = st.sampled_from(["hvm", "pv", "pvh", "1", "0", "x", "ovmf", "stdvga", "none",
                              "hda", "xvda", "sdb", "cdrom", "ro", "rw", "qcow2", "phy:",
                              "/img/a", "target=/img/b", "vdev=hdc", "bridge=br0", "mac=",
                              "00:16:3e:00:00:01", "type=vif", "rate=10MB/s", "01:00.0",
                              "permissive=1", "hostbus=1", "connection=pty", "tag=t", "host",
                              "tm=0", "vncdisplay=1", "file:/tmp/s", "pty", "ac97", "all"])
SPECS = st.lists(SPEC_WORDS, max_size=5).map(",".join) | st.lists(SPEC_WORDS, max_size=3).map(
    ":".join)
QUOTE = '"'
MAPPED_VALUES = st.integers(min_value=0, max_value=10**6) | SPECS | st.lists(SPECS, max_size=3)


@settings(max_examples=400)
@given(st.dictionaries(st.sampled_from(MAPPED_KEYS), MAPPED_VALUES, max_size=10))
def test_any_values_of_mapped_keys_give_xml_or_one_line_error(values):
    text = "\n".join(f"{key} = {xl_text(value, QUOTE)}" for key, value in values.items())
    try:
        xml = to_domain_xml(text, name="fuzz")
    except XlCfgError as err:
        assert "\n" not in str(err) and str(err).startswith("line ")
    else:
        assert Domain.from_string(xml).machine in ("xenfv", "xenpv", "xenpvh")


@pytest.mark.parametrize("text, line, words", [
    ('name = "web"\nmemory = "512\n', 2, "not closed on the same line"),
    ('name = "web"\n\nmemory 512\n', 3, "expected '=' after memory"),
    ('disk = [ "a",\n  "b"\n', 3, "opened on line 1 is not closed"),
    ('disk = [ "a"\n  "b" ]\n', 2, "expected ',' or ']'"),
    ('boot = c\n', 1, 'write boot = "c"'),
    ('name = "web" vcpus = 2\n', 1, "separate settings with ';'"),
    ('memory =\nvcpus = 2\n', 1, "memory has no value"),
    ('name = "web"\nmemory = 512 $\n', 2, "unexpected character '$'"),
    ('= 3\n', 1, "expected a setting name"),
    ('vif = [ "a" ]\nvif += "b"\n', 2, "+= adds a list to a list"),
])
def test_malformed_syntax_names_the_line_and_the_fix(text, line, words):
    assert_one_line_error(parse, text, line, words)


@pytest.mark.parametrize("text, line, words", [
    ('name = "a"\ntype = "hvm2"\n', 2, "use hvm, pv or pvh"),
    ('name = "a"\nvif = [ "mac=00:16:3e:zz:00:01" ]\n', 2, "malformed mac"),
    ('name = "a"\nvif = [ "bridge" ]\n', 2, "every vif setting is key=value"),
    ('name = "a"\nvif = [ "rate=fast" ]\n', 2, "invalid rate"),
    ('name = "a"\nbuilder = "hvm"\npci = [ "01:1a" ]\n', 3, "is not a PCI address"),
    ('name = "a"\nbuilder = "hvm"\nspice = 1\n', 3, "needs spicepasswd"),
    ('name = "a"\nbuilder = "hvm"\nsoundhw = "gus"\n', 3, "not a sound model"),
    ('name = "a"\nbuilder = "hvm"\nvnc = 1\nvga = "vmware"\n', 4, "not a Xen VGA"),
    ('name = "a"\n\ndisk = [ "/img/a.raw,raw" ]\n', 3, "no vdev"),
    ('name = "a"\ndisk = [ "/img/a,vmdk,xvda" ]\n', 2, "unknown format 'vmdk'"),
    ('name = "a"\nmemory = "lots"\n', 2, "not a whole number"),
    ('name = "a"\non_crash = "soft-reset"\n', 2, "not an action libvirt knows"),
    ('name = "a"\nbuilder = "hvm"\ncpuid = [ "0:eax=0x1" ]\n', 3, "is a list"),
    ('name = "a"\nbuilder = "hvm"\ncpuid = "host,tm=2"\n', 3, "name=1, name=0 or name=x"),
    ('name = "a"\nchannel = [ "connection=tcp,name=x" ]\n', 2, "connection=socket"),
])
def test_what_libvirt_would_refuse_names_the_setting_line(text, line, words):
    assert_one_line_error(to_domain_xml, text, line, words)


def assert_one_line_error(read, text, line, words):
    __tracebackhide__ = True
    with pytest.raises(XlCfgError) as raised:
        read(text)
    message = str(raised.value)
    assert message.startswith(f"line {line}: ") and words in message and "\n" not in message


def test_a_file_without_a_name_takes_the_given_one_or_says_how_to_add_it():
    assert xml_of('memory = 256\n', name="from-file-name").findtext("name") == "from-file-name"
    with pytest.raises(XlCfgError, match="add one, or pass name="):
        to_domain_xml("memory = 256\n")


def test_unknown_keys_are_not_mapped_and_do_no_harm():
    text = 'name = "a"\nfrobnicate = [ "x", 1 ]\ngfx_passthru = 1\nvkb = [ "backend=0" ]\n'
    assert to_domain_xml(text) == to_domain_xml('name = "a"\n')


@pytest.mark.parametrize("text, expected", [
    ('name = "web"\n', True),
    ("# a comment first\nname = 'web'", True),
    ("\ufeff  \n<domain type='kvm'><name>x</name></domain>", False),
    ("<?xml version='1.0'?>\n<domain/>", False),
    ("  \n", False),
])
def test_an_xml_document_is_not_an_xl_cfg(text, expected):
    assert looks_like_xl_cfg(text) is expected


@pytest.mark.parametrize("spec, target, fmt, vdev, readonly, cdrom, backend", [
    ("/dev/vg/guest-volume,,hda", "/dev/vg/guest-volume", "raw", "hda", False, False, ""),
    ("/dev/vg/guest-volume,raw,hda,rw", "/dev/vg/guest-volume", "raw", "hda", False, False, ""),
    ("format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume", "/dev/vg/guest-volume",
     "raw", "hda", False, False, ""),
    ("raw:/dev/vg/guest-volume,hda,w", "/dev/vg/guest-volume", "raw", "hda", False, False, ""),
    ("/root/image.iso,,hdc,cdrom", "/root/image.iso", "raw", "hdc", True, True, ""),
    ("/root/image.iso,raw,hdc,devtype=cdrom", "/root/image.iso", "raw", "hdc", True, True, ""),
    ("raw:/root/image.iso,hdc:cdrom,ro", "/root/image.iso", "raw", "hdc", True, True, ""),
    (",hdc:cdrom,r", "", "empty", "hdc", True, True, ""),
    ("tap:aio:/img/x.qcow2,xvda,w", "/img/x.qcow2", "raw", "xvda", False, False, ""),
    ("tap:qcow2:/img/x.qcow2,xvda,r", "/img/x.qcow2", "qcow2", "xvda", True, False, ""),
    ("/img/x.vhd,vhd,xvdb,w,backendtype=tap", "/img/x.vhd", "vhd", "xvdb", False, False, "tap"),
    ("vdev=xvda,direct-io-safe,discard,target=/img/with,comma.img", "/img/with,comma.img",
     "raw", "xvda", False, False, ""),
])
def test_disk_specs_read_as_xl_reads_them(spec, target, fmt, vdev, readonly, cdrom, backend):
    assert xlcfg.disk(spec) == xlcfg.Disk(target, fmt, vdev, readonly, cdrom, backend)


# What libvirt writes for them.

def test_hvm_guest_machine_firmware_and_boot_order():
    root = xml_of(HVM)
    os_type = root.find("os/type")
    assert (os_type.text, os_type.get("machine"), os_type.get("arch")) == \
        ("hvm", "xenfv", "x86_64")
    assert root.find("os/loader").text == "/usr/lib/xen/boot/hvmloader"
    assert [b.get("dev") for b in root.findall("os/boot")] == ["cdrom", "hd"]
    assert root.find("devices/emulator").text == "/usr/lib/xen/bin/qemu-system-i386"
    assert (root.findtext("memory"), root.findtext("currentMemory")) == ("1048576", "524288")
    assert root.find("vcpu").text == "2" and root.findtext("on_crash") == "preserve"
    assert [f.tag for f in root.find("features")] == ["acpi", "apic", "pae"]


def test_hvm_disk_buses_follow_the_device_name():
    assert disks(xml_of(HVM)) == [
        ("hda", "disk", "ide", "block", "phy", "raw"),
        ("sdb", "disk", "scsi", "file", "qemu", "qcow2"),
        ("hdc", "cdrom", "ide", "file", "qemu", "raw"),
        ("xvdc", "disk", "xen", "file", "qemu", "raw")]
    root = xml_of(HVM)
    assert root.find("devices/disk[@device='cdrom']/readonly") is not None
    assert {c.get("type") for c in root.findall("devices/controller")} == \
        {"xenbus", "ide", "scsi"}


def test_hvm_nics_get_a_model_exactly_where_libvirt_writes_one():
    dom = domain(HVM)
    # model=e1000; type=ioemu without a model: none (libxl emulates an rtl8139); type=vif: netfront
    assert dom.nic_models == ["e1000", "", "netfront"]
    first = dom.interfaces[0]
    assert first.get("type") == "bridge" and first.find("mac").get("address") == \
        "00:16:3e:66:92:9c"
    assert first.find("source").get("bridge") == "xenbr1"
    assert first.find("script").get("path") == "vif-bridge"
    assert dom.tap_devices == ["web-pv"]


def test_hvm_spice_display_clipboard_and_usb_redirection():
    dom = domain(HVM)
    assert dom.displays == [("spice", "0.0.0.0", 5930, True)]
    assert dom.spice_copypaste == ["yes"]
    assert dom.redirdevs == ["usb spicevmc", "usb spicevmc"]
    assert [(c.kind, c.target_name) for c in dom.channels] == \
        [("spicevmc", "com.redhat.spice.0")]
    assert dom.root.find("devices/graphics/mouse").get("mode") == "client"


def test_hvm_video_sound_usb_and_host_devices():
    dom = domain(HVM)
    assert dom.video_models == ["cirrus"]  # Xen's HVM default card for a display
    assert dom.sound_models == ["ac97"]
    assert dom.usb_devices == ["input tablet", "redirdev spicevmc", "redirdev spicevmc"]
    assert [h.get("type") for h in dom.root.findall("devices/hostdev")] == ["pci", "pci"]
    sources = dom.root.findall("devices/hostdev/source")
    assert [s.get("writeFiltering") for s in sources] == [None, "no"]
    assert sources[0].find("address").attrib == {"domain": "0x0000", "bus": "0x01",
                                                 "slot": "0x1a", "function": "0x1"}
    assert [(i.get("type"), i.get("bus")) for i in dom.root.findall("devices/input")] == \
        [("tablet", "usb"), ("mouse", "ps2"), ("keyboard", "ps2")]


def test_hvm_serial_port_brings_a_serial_console():
    root = xml_of(HVM)
    assert [s.get("type") for s in root.findall("devices/serial")] == ["pty"]
    assert root.find("devices/console/target").get("type") == "serial"
    assert root.find("devices/parallel") is None  # parallel = "none"


@pytest.mark.parametrize("nested, features", [
    ("1", []),  # host-passthrough already shows vmx/svm: libvirt adds no feature
    ("0", [("vmx", "disable")]),
])
def test_nestedhvm_makes_a_host_passthrough_cpu(nested, features):
    root = xml_of(f'name = "a"\nbuilder = "hvm"\nnestedhvm = {nested}\n')
    assert root.find("cpu").get("mode") == "host-passthrough"
    assert [(f.get("name"), f.get("policy")) for f in root.findall("cpu/feature")] == features


def test_cpuid_features_in_libvirt_names_and_policies():
    dom = domain('name = "a"\nbuilder = "hvm"\ncpuid = "host,tm=0,sse3=1,page1gb=x,vmx=1"\n')
    assert dom.cpu_mode == "host-passthrough"
    assert [(f.get("name"), f.get("policy")) for f in dom.root.findall("cpu/feature")] == \
        [("tm", "disable"), ("pni", "force"), ("pdpe1gb", "optional"), ("vmx", "force")]
    assert dom.nested_virt_features == ["vmx (force)"]


@pytest.mark.parametrize("display, model, vram", [
    ('vnc = 1', "cirrus", "8192"),
    ('vnc = 1\nvga = "stdvga"', "vga", "16384"),
    ('vnc = 1\nstdvga = 1', "vga", "16384"),
    ('vnc = 1\nvga = "stdvga"\nvideoram = 32', "vga", "32768"),
    ('vnc = 1\nvga = "none"', "none", None),
    ('sdl = 1', "cirrus", "8192"),
    ('vga = "stdvga"', None, None),  # no display, no <video> (libvirt adds one for a display)
])
def test_hvm_video_model(display, model, vram):
    found = xml_of(f'name = "a"\nbuilder = "hvm"\n{display}\n').find("devices/video/model")
    if model is None:
        assert found is None
    else:
        assert (found.get("type"), found.get("vram")) == (model, vram)


def test_hvm_vnc_listen_address_password_and_fixed_port():
    dom = domain('name = "a"\nbuilder = "hvm"\nvnc = 1\nvnclisten = "0.0.0.0"\n'
                 'vncpasswd = "pw"\nvncunused = 0\nvncdisplay = 2\n')
    assert dom.displays == [("vnc", "0.0.0.0", 5902, True)]
    assert domain('name = "a"\nbuilder = "hvm"\nvnc = 1\n').displays == [("vnc", "", -1, False)]


def test_bios_ovmf_loads_ovmf_from_flash():
    loader = xml_of('name = "a"\nbuilder = "hvm"\nbios = "ovmf"\n').find("os/loader")
    assert (loader.get("type"), loader.get("readonly"), loader.text) == \
        ("pflash", "yes", "/usr/lib/xen/boot/ovmf.bin")


def test_pv_guest_direct_kernel_boot_devices_and_console():
    dom = domain(PV)
    root = dom.root
    assert (dom.machine, root.findtext("os/type")) == ("xenpv", "linux")
    assert root.findtext("os/cmdline") == "root=/dev/xvda1 console=hvc0"
    assert (root.findtext("os/kernel"), root.findtext("os/initrd")) == \
        ("/boot/vmlinuz-xen", "/boot/initrd-xen")
    # every disk of a PV guest is on the xen bus; phy: is a deprecated prefix xl ignores
    assert disks(root) == [("xvda", "disk", "xen", "file", "qemu", "raw"),
                           ("hda", "disk", "xen", "file", "qemu", "raw")]
    assert root.find("devices/emulator") is None and root.find("clock").get("offset") == "utc"
    assert root.find("devices/console/target").attrib == {"type": "xen", "port": "0"}
    assert [(i.get("type"), i.get("bus")) for i in root.findall("devices/input")] == \
        [("mouse", "xen"), ("keyboard", "xen")]
    assert dom.interfaces[0].get("type") == "ethernet" and dom.nic_models == [""]
    assert dom.memballoon_models == ["xen"]
    assert root.find("features/xen/e820_host").get("state") == "on"


def test_pv_framebuffer_usb_controller_hostdev_and_channel():
    dom = domain(PV)
    assert dom.displays == [("vnc", "127.0.0.1", 5903, True)]
    assert dom.video_models == ["xen"]
    assert dom.usb_controller_models == ["qusb1"]
    assert dom.root.find("devices/controller[@type='usb']").get("ports") == "4"
    assert dom.host_devices == ["hostdev usb"]
    assert dom.root.find("devices/hostdev/source/address").attrib == {"bus": "1", "device": "3"}
    assert [(c.kind, c.target_name) for c in dom.channels] == \
        [("unix", "org.qemu.guest_agent.0")]
    assert dom.root.find("devices/channel/source").attrib == \
        {"mode": "bind", "path": "/run/mail-agent.sock"}


def test_pvh_guest():
    dom = domain(PVH)
    assert (dom.machine, dom.root.findtext("os/type")) == ("xenpvh", "xenpvh")
    assert dom.root.findtext("os/cmdline") == "root=/dev/xvda1 ro"
    assert disks(dom.root) == [("xvda", "disk", "xen", "file", "qemu", "raw")]
    assert dom.root.find("devices/emulator") is None and dom.video_models == []
    assert dom.root.find("devices/console/target").get("type") == "xen"


def test_builder_hvm_and_type_agree_and_type_wins():
    assert domain('name = "a"\nbuilder = "hvm"\n').machine == "xenfv"
    assert domain('name = "a"\ntype = "hvm"\n').machine == "xenfv"
    assert domain('name = "a"\ntype = "pv"\nbuilder = "hvm"\n').machine == "xenpv"
    assert domain('name = "a"\nbuilder = "generic"\n').machine == "xenpv"


def test_emulated_devices_of_an_hvm_guest_are_not_read_for_pv():
    text = 'name = "a"\ntype = "pv"\nsoundhw = "ac97"\nusbdevice = [ "tablet" ]\nvnc = 1\n' \
           'serial = "pty"\nnestedhvm = 1\nspice = 1\n'
    dom = domain(text)
    assert dom.sound_models == [] and dom.graphics_types == [] and dom.cpu_mode == ""
    assert [i.get("bus") for i in dom.root.findall("devices/input")] == ["xen", "xen"]


def test_device_model_args_become_the_xen_namespace_commandline():
    root = xml_of('name = "a"\nbuilder = "hvm"\n'
                  'device_model_args = [ "-debugcon", "file:/tmp/debug.log" ]\n'
                  'device_model_args_hvm = [ "-global", "isa-debugcon.iobase=0x402" ]\n'
                  'device_model_override = "/opt/qemu/bin/qemu-system-i386"\n')
    assert [a.get("value") for a in root.findall(f"{XEN_NS}commandline/{XEN_NS}arg")] == \
        ["-debugcon", "file:/tmp/debug.log", "-global", "isa-debugcon.iobase=0x402"]
    assert root.findtext("devices/emulator") == "/opt/qemu/bin/qemu-system-i386"
    assert "xmlns:xen=\"http://libvirt.org/schemas/domain/xen/1.0\"" in to_domain_xml(
        'name = "a"\ndevice_model_args = [ "-S" ]\n')


def test_p9_share_is_a_filesystem():
    dom = domain('name = "a"\np9 = [ "tag=share, security_model=none, path=/srv/share" ]\n')
    assert [(fs.kind, fs.source, fs.tag) for fs in dom.filesystems] == \
        [("9p", "/srv/share", "share")]
    element = dom.root.find("devices/filesystem")
    assert (element.get("accessmode"), element.find("driver").get("type")) == ("squash", "path")


def test_channel_pty_and_features_and_lifecycle_defaults():
    root = xml_of('name = "a"\nbuilder = "hvm"\nacpi = 0\nhap = 0\nviridian = 1\n'
                  'channel = [ "connection=pty,name=org.example.0" ]\nmax_grant_frames = 64\n')
    assert [f.tag for f in root.find("features")] == ["apic", "pae", "hap", "viridian"]
    assert root.find("features/hap").get("state") == "off"
    assert root.find("devices/channel").get("type") == "pty"
    assert root.find("devices/controller[@type='xenbus']").get("maxGrantFrames") == "64"
    assert [root.findtext(k) for k in ("on_poweroff", "on_reboot", "on_crash")] == \
        ["destroy", "restart", "restart"]


def test_vif_rate_ip_and_openvswitch_bridge():
    interface = xml_of('name = "a"\nvif = [ "bridge=ovsbr0.10,rate=100Mb/s,'
                       'ip=192.0.2.10 192.0.2.11" ]\n').find("devices/interface")
    assert interface.find("source").get("bridge") == "ovsbr0"
    assert interface.find("bandwidth/outbound").get("average") == "12800"
    assert [ip.get("address") for ip in interface.findall("ip")] == ["192.0.2.10", "192.0.2.11"]


def test_spice_usbredirection_without_spice_gives_nothing():
    dom = domain('name = "a"\nbuilder = "hvm"\nspiceusbredirection = 3\nspicevdagent = 1\n')
    assert dom.redirdevs == [] and dom.channels == []


def test_spice_clipboard_off_is_written_as_no():
    dom = domain('name = "a"\nbuilder = "hvm"\nspice = 1\nspicedisable_ticketing = 1\n')
    assert dom.spice_copypaste == ["no"]
    assert dom.displays == [("spice", "", -1, False)]


def test_soundhw_all_is_the_two_models_of_xens_qemu():
    assert domain('name = "a"\nbuilder = "hvm"\nsoundhw = "all"\n').sound_models == \
        ["sb16", "es1370"]


def test_the_rules_see_what_the_xl_cfg_gives_the_guest():
    found = findings(domain(HVM))
    assert found["DEV-01"] == ["redirdev usb spicevmc", "redirdev usb spicevmc"]
    assert found["DEV-02"] == ["hostdev pci", "hostdev pci"]
    assert "SPICE graphics with copypaste=yes" in found["SHR-02"]
    assert found["HV-03"] == ["sound device ac97"]
    assert found["MGT-01"] == ["spice display listens on 0.0.0.0"]  # with a password
