"""The displays a QEMU process serves, read from its command line: where each listens and whether
a client must speak TLS to it.

    for d in displays(qemu_process.cmdline):
        d.kind, d.address, d.tls, d.plain    # 'vnc', '0.0.0.0', False, True
        d.in_clear_beyond_loopback           # True: a network peer reads the screen and keys

VNC encrypts only with tls-creds= (qemu.conf vnc_tls = 1). SPICE listens in the clear on port=
and with TLS on tls-port= (qemu.conf spice_tls = 1); a plain port beside the TLS one still
serves every channel not forced secure, so only a SPICE display without port= is TLS alone.
"""

from dataclasses import dataclass

from helpers.probes import qemuproc

LOOPBACK = ("127.", "::1", "localhost")


@dataclass(frozen=True)
class Display:
    kind: str  # vnc or spice
    address: str  # 'unix' for a UNIX socket; '' where QEMU listens on every address
    tls: bool
    plain: bool  # serves clients that do not speak TLS

    @property
    def beyond_loopback(self):
        return self.address != "unix" and not self.address.startswith(LOOPBACK)

    @property
    def in_clear_beyond_loopback(self):
        return self.beyond_loopback and self.plain

    def __str__(self):
        where = self.address or "every address"
        how = "TLS" if self.tls and not self.plain else \
            "TLS and in the clear" if self.tls else "in the clear"
        return f"{self.kind} on {where} ({how})"


def displays(cmdline):
    """The VNC and SPICE displays of a QEMU command line (-vnc none is no display)."""
    found = []
    for flag, value in zip(cmdline, cmdline[1:]):
        if flag == "-vnc" and value != "none":
            found.append(_vnc(value))
        elif flag == "-spice":
            found.append(_spice(value))
    return found


def _vnc(value):
    where, *options = value.split(",")
    where = where.removeprefix("vnc=")
    address = "unix" if where.startswith("unix:") else where.rsplit(":", 1)[0].strip("[]")
    tls = any(o.startswith(("tls-creds=", "tls", "x509")) for o in options)
    return Display("vnc", address, tls, not tls)


def _spice(value):
    options = qemuproc.options(value)
    address = "unix" if options.get("unix") in ("on", "") and "unix" in options \
        else options.get("addr", "")
    plain = options.get("port", "0") not in ("", "0")
    return Display("spice", address, options.get("tls-port", "0") not in ("", "0"), plain)
