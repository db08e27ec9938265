"""Configuration files and XML the lab's libvirtd starts from (the host profile under test).

    write(root, cache_dir, "hardened")   # root/etc/libvirt/libvirtd.conf, qemu.conf, ...
    write(root, cache_dir, "system")     # this machine's own /etc/libvirt, read, never changed

The `system` profile copies this machine's qemu.conf, libvirtd.conf and nwfilters and keeps
every setting but the few the lab must own (its socket folder, its log, and no polkit: no polkitd
runs in the lab's namespaces). libvirtd.conf as the machine has it is kept beside the lab's as
libvirtd.conf.system: checks of who may use the socket judge that one (judged_libvirtd_conf).
"""

import re
import shutil
from pathlib import Path

from helpers.host.hypervisor import LocalHypervisor
from helpers.hostconfig import libvirtdconf
from helpers.hostconfig.socketaccess import default_auth
from helpers.lab.mounts import BIND_MOUNTS

# libvirt's built-in traffic filters (clean-traffic and what it includes), as the package ships
# them; the lab's own /etc/libvirt/nwfilter starts from these.
BUILTIN_FILTERS = Path("/usr/share/libvirt/nwfilter")

# Displays start above the ports the network canaries listen on (5900 among them).
QEMU_CONF_COMMON = "remote_display_port_min = 5950\nremote_display_port_max = 5999\n"

PROFILES = {
    # Debian's defaults: QEMU as libvirt-qemu, no capabilities, seccomp sandbox on; and
    # migration refused unless it runs over TLS.
    "hardened": "migrate_tls_force = 1\n",
    # What a careless host does: QEMU as root with its capabilities, no seccomp sandbox, guest
    # memory in QEMU's core dumps, displays on every address unless the domain says otherwise,
    # QEMU writing the guest's console log itself, never rotated, and no CPU cgroup for a
    # guest: the scheduler shares the CPU between QEMU threads, not between guests.
    "leaky": "\n".join(['user = "root"', 'group = "root"', "seccomp_sandbox = 0",
                         "clear_emulator_capabilities = 0", "namespaces = []",
                         'security_driver = "none"', "dump_guest_core = 1",
                         'vnc_listen = "0.0.0.0"', 'spice_listen = "0.0.0.0"',
                         'stdio_handler = "file"',
                         'cgroup_controllers = [ "devices", "memory", "blkio", "cpuset", '
                         '"cpuacct" ]', ""]),
}
SYSTEM_LIBVIRT = Path("/etc/libvirt")
# Settings the lab sets itself, whatever the profile.
LAB_OWNED = {"libvirtd.conf": ("unix_sock_dir", "log_outputs", "auth_unix_rw", "auth_unix_ro",
                               "unix_sock_ro_perms", "unix_sock_admin_perms",
                               "unix_sock_rw_perms"),
             "qemu.conf": ("remote_display_port_min", "remote_display_port_max")}
# libvirtd.conf lines a profile changes: the leaky host lets any local user drive libvirt and
# serves its remote API on TCP without authentication.
SOCKET_PERMS = {"hardened": "0700", "leaky": "0777"}
REMOTE_API = {"hardened": [], "system": [],
              "leaky": ["listen_tcp = 1", "listen_tls = 0", 'auth_tcp = "none"',
                        'listen_addr = "0.0.0.0"']}
# Flags the lab's libvirtd starts with: --listen opens the TCP/TLS listeners libvirtd.conf names.
DAEMON_FLAGS = {"hardened": (), "leaky": ("--listen",), "system": ()}
# The hardened host runs virtlogd at the least CPU weight (as a systemd host's CPUWeight=1 for
# virtlogd.service): a guest flooding its serial console has virtlogd work for it outside every
# guest's cgroup, and it must not take its neighbours' CPU so (DEV-09).
DAEMON_NICE = {"hardened": {"virtlogd": 19}, "leaky": {}, "system": {}}
# The leaky host "upgrades" QEMU under running guests: they run a binary that is gone (PAT-05).
REPLACED_EMULATOR = {"hardened": False, "leaky": True, "system": False}
# The leaky host routes guest traffic onward, into the management network (NET-02).
ROUTED = {"hardened": False, "leaky": True, "system": False}


def libvirtd_conf(root, profile, socket_perms=None):
    return "\n".join([
        f'unix_sock_dir = "{root / "sock"}"',
        'auth_unix_rw = "none"',
        'auth_unix_ro = "none"',
        f'unix_sock_rw_perms = "{socket_perms or SOCKET_PERMS[profile]}"',
        'unix_sock_ro_perms = "0700"',
        'unix_sock_admin_perms = "0700"',
        f'log_outputs = "3:file:{root / "log/libvirt/libvirtd.log"}"',
        *REMOTE_API[profile],
        "",
    ])


def write(root, cache_dir, profile):
    for sub, _ in BIND_MOUNTS:
        if sub != "cache":
            (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "log/libvirt").mkdir()
    (root / "sock").mkdir(mode=0o755)
    cache_dir.mkdir(parents=True, exist_ok=True)
    (root / "cache").symlink_to(cache_dir.resolve())
    etc = root / "etc/libvirt"
    if not (BUILTIN_FILTERS / "clean-traffic.xml").exists():
        raise FileNotFoundError(f"{BUILTIN_FILTERS}/clean-traffic.xml is missing: install "
                                f"libvirt-daemon-config-nwfilter (make deps)")
    shutil.copytree(BUILTIN_FILTERS, etc / "nwfilter")
    if profile == "system":
        _write_system(root, etc)
    else:
        (etc / "libvirtd.conf").write_text(libvirtd_conf(root, profile))
        (etc / "qemu.conf").write_text(QEMU_CONF_COMMON + PROFILES[profile])
    (etc / "virtlogd.conf").write_text(
        _read(SYSTEM_LIBVIRT / "virtlogd.conf") if profile == "system" else "")
    (root / "lib/libvirt").chmod(0o755)


def _write_system(root, etc):
    """This machine's configuration, but for what the lab owns."""
    system = {name: _read(SYSTEM_LIBVIRT / name) for name in LAB_OWNED}
    (etc / "libvirtd.conf.system").write_text(system["libvirtd.conf"])
    settings = libvirtdconf.parse(system["libvirtd.conf"])
    (etc / "libvirtd.conf").write_text(
        _without(system["libvirtd.conf"], LAB_OWNED["libvirtd.conf"]) + "\n"
        + libvirtd_conf(root, "system", _socket_perms(settings)))
    (etc / "qemu.conf").write_text(_without(system["qemu.conf"], LAB_OWNED["qemu.conf"])
                                   + "\n" + QEMU_CONF_COMMON)
    if (SYSTEM_LIBVIRT / "nwfilter").is_dir():
        shutil.copytree(SYSTEM_LIBVIRT / "nwfilter", etc / "nwfilter", dirs_exist_ok=True)


def _socket_perms(settings):
    """The read-write socket's mode as libvirtd makes it from these settings: 0777 under polkit
    (polkit decides), else 0700, unless unix_sock_rw_perms says otherwise."""
    if settings.get("unix_sock_rw_perms"):
        return settings["unix_sock_rw_perms"]
    auth = settings.get("auth_unix_rw") or default_auth(LocalHypervisor())
    return "0777" if auth == "polkit" else "0700"


def _read(path):
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""  # libvirt's defaults


def _without(text, keys):
    pattern = re.compile(rf"\s*({'|'.join(keys)})\s*=")
    return "\n".join(line for line in text.splitlines() if not pattern.match(line))


def network_xml(name, bridge, host_address, subnet, route_to=None):
    """An isolated network (no <forward>): DHCP from the host, no DNS, nothing routed out.

    DHCP names the host as router, as a cloud's network does, so a guest has a route to the
    metadata address the lab simulates on the host side (NET-03) and to the management network
    (NET-02); an isolated network forwards nothing. With `route_to` (a device) the host routes
    guest traffic out of that device: what a careless host does.

    `no-ping`: dnsmasq would ping each address before offering it, holding every first lease
    back about 3 s; only this run's guests live on the network, so there is nothing to detect.
    """
    first, last = subnet[100], subnet[199]
    forward = f"\n  <forward mode='route' dev='{route_to}'/>" if route_to else ""
    return f"""<network xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'>
  <name>{name}</name>{forward}
  <bridge name='{bridge}' stp='off' delay='0'/>
  <dns enable='no'/>
  <ip address='{host_address}' netmask='{subnet.netmask}'>
    <dhcp><range start='{first}' end='{last}'/></dhcp>
  </ip>
  <dnsmasq:options>
    <dnsmasq:option value='dhcp-option=3,{host_address}'/>
    <dnsmasq:option value='no-ping'/>
  </dnsmasq:options>
</network>"""

