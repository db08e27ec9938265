"""libvirtd's remote API as the daemon runs it: libvirtd.conf settings and its TCP listeners.

    pid = daemon_pid(hypervisor, "/run/libvirt/libvirt-sock")
    conf = LibvirtdConfig.read(hypervisor, "/etc/libvirt/libvirtd.conf", pid)
    conf.open_remote_listeners      # ['TCP 0.0.0.0:16509 with auth_tcp = "none"']

Only what the daemon really listens on counts: listen_tcp = 1 without --listen opens nothing.
"""

import re
from dataclasses import dataclass

from helpers.hostconfig.procnet import listening

COMMENT_LINE = re.compile(r"^\s*#.*$", re.M)
LIST_SETTING = re.compile(r"^\s*(\w+)\s*=\s*\[([^\]]*)\]", re.M)
DEFAULTS = {"tcp_port": "16509", "tls_port": "16514", "auth_tcp": "sasl", "auth_tls": "none",
            "tls_no_verify_certificate": "0"}


@dataclass(frozen=True)
class LibvirtdConfig:
    source: str
    settings: dict
    listening: list  # (address, port)

    @classmethod
    def read(cls, hypervisor, path, pid):
        """The settings in `path` and the listeners of daemon `pid`, on the hypervisor's host
        (helpers/host/hypervisor.py); a missing file means libvirt's defaults."""
        text = hypervisor.read_text(path) if hypervisor.mode(path) is not None else ""
        return cls(str(path), parse(text),
                   listening(hypervisor.read_text(f"/proc/{pid}/net/tcp"), include_loopback=True))

    def get(self, key):
        return self.settings.get(key, DEFAULTS.get(key, ""))

    def _listening_on(self, port):
        return [f"{a}:{p}" for a, p in self.listening if p == int(port)]

    @property
    def open_remote_listeners(self):
        found = []
        for where in self._listening_on(self.get("tcp_port")):
            if self.get("auth_tcp") == "none":
                found.append(f'TCP {where} with auth_tcp = "none"')
        for where in self._listening_on(self.get("tls_port")):
            if self.get("tls_no_verify_certificate") == "1" and self.get("auth_tls") == "none":
                found.append(f"TLS {where} without client certificate checks or auth_tls")
        return found


def parse(text):
    """key = value lines of a libvirt config file, quotes removed, comments ignored; a list
    (`namespaces = [ "mount" ]`, which may span lines) is a list of its strings."""
    text = COMMENT_LINE.sub("", text)
    settings = {}
    for line in text.splitlines():
        match = re.match(r'\s*(\w+)\s*=\s*"?([^"#\[]*?)"?\s*(#.*)?$', line)
        if match:
            settings[match.group(1)] = match.group(2)
    for key, items in LIST_SETTING.findall(text):
        settings[key] = re.findall(r'"([^"]*)"', items)
    return settings


def daemon_pid(hypervisor, socket_path):
    """The pid of the daemon listening on the libvirt socket `socket_path` (as `ss` on the
    hypervisor's host sees it); None when no process listens there."""
    for line in hypervisor.run("ss", "-xlpnH").splitlines():
        fields = line.split()
        if len(fields) > 4 and fields[4] == socket_path:
            match = re.search(r"pid=(\d+)", line)
            if match:
                return int(match.group(1))
    return None
