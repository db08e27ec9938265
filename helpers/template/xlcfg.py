"""Read Xen's xl.cfg domain configuration files (xl.cfg(5)), and hand one on as libvirt XML.

    settings = parse(open("/etc/xen/web.cfg").read())
    settings["vif"]                       # ['mac=00:16:3e:00:00:01,bridge=xenbr0']
    xml = to_domain_xml(open("/etc/xen/web.cfg").read(), name="web")
    looks_like_xl_cfg(xml)                # False: an XML document starts with '<'

The file syntax is xl's own (Xen's tools/libxl/libxlu_cfg_l.l and libxlu_cfg_y.y): one
`key = value` per line or separated by `;`; a value is a string in '…' or "…" (backslash escapes
as in xl), a number (decimal or 0x hex) or a list [ … ] of values that may span lines and end in a
comma; `#` starts a comment. Beyond xl's grammar this reader takes `key += value` (newer xl),
nested lists (vnuma) and decimal fractions. A key set twice keeps its last value, as in xl.

The small syntaxes inside the strings live here too: a disk's DISKSPEC
(docs/man/xl-disk-configuration.5.pod, tools/libs/util/libxlu_disk_l.l), the comma-separated
key=value lists of vif, vfb, channel, usbctrl, usbdev and p9, and a PCI address. What they mean
in libvirt's terms is helpers/template/xlxml.py's business.
"""

import re
from dataclasses import dataclass

from helpers.template import xlxml

TOKEN = re.compile(r"""
    (?P<space>[ \t\r\f]+)
  | (?P<comment>\#[^\n]*)
  | (?P<newline>\n)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<number>-?0[xX][0-9a-fA-F]+|-?[0-9]+(?:\.[0-9]+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<punct>\+=|[=,;\[\]])
""", re.VERBOSE)
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}
BOM = "\ufeff"


class XlCfgError(ValueError):
    """The xl.cfg cannot be read, or libvirt would refuse it: one line that names the line
    number, the problem and, where there is one, the fix."""


@dataclass(frozen=True)
class Token:
    kind: str  # string, number, name, a punctuation mark itself, newline or end
    value: object
    line: int


def _tokens(text):
    line, at = 1, 0
    while at < len(text):
        match = TOKEN.match(text, at)
        if not match:
            raise _lexical_error(text[at], line)
        kind, value = match.lastgroup, match.group()
        at = match.end()
        if kind == "newline":
            yield Token("newline", value, line)
            line += 1
        elif kind == "string":
            yield Token("string", _unquote(value), line)
        elif kind == "number":
            yield Token("number", _number(value), line)
        elif kind == "name":
            yield Token("name", value, line)
        elif kind == "punct":
            yield Token(value, value, line)
    yield Token("end", "", line)


def _lexical_error(char, line):
    if char in "'\"":
        return XlCfgError(f"line {line}: a string opened with {char} is not closed on the same "
                          f"line; close it with {char}")
    return XlCfgError(f"line {line}: unexpected character {char!r}; values are numbers, "
                      f"strings in quotes or [ lists ]")


def _unquote(quoted):
    return re.sub(r"\\(.)", lambda m: ESCAPES.get(m.group(1), m.group(1)), quoted[1:-1])


def _number(text):
    if "." in text:
        return float(text)
    return int(text, 16) if "x" in text.lower() else int(text)


class _Reader:
    """A recursive-descent reader over the tokens of one file."""

    def __init__(self, text):
        self.tokens = list(_tokens(text.lstrip(BOM)))
        self.at = 0

    @property
    def next(self):
        return self.tokens[self.at]

    def take(self):
        self.at += 1
        return self.tokens[self.at - 1]

    def skip(self, *kinds):
        while self.next.kind in kinds:
            self.take()

    def settings(self):
        values, lines = {}, {}
        self.skip("newline", ";")
        while self.next.kind != "end":
            name, add, value = self.setting()
            key = name.value
            values[key] = _added(values.get(key), value, name.line) if add else value
            lines[key] = name.line
            self.skip("newline", ";")
        return values, lines

    def setting(self):
        name = self.take()
        if name.kind != "name":
            raise XlCfgError(f"line {name.line}: expected a setting name, found "
                             f"{_shown(name)}; write settings as key = value")
        sign = self.take()
        if sign.kind not in ("=", "+="):
            raise XlCfgError(f"line {name.line}: expected '=' after {name.value}, found "
                             f"{_shown(sign)}; write it as {name.value} = VALUE")
        value = self.value(name.value)
        if self.next.kind not in ("newline", ";", "end"):
            raise XlCfgError(f"line {self.next.line}: unexpected {_shown(self.next)} after the "
                             f"value of {name.value}; put one setting per line or separate "
                             f"settings with ';'")
        return name, sign.kind == "+=", value

    def value(self, key):
        token = self.take()
        if token.kind in ("string", "number"):
            return token.value
        if token.kind == "[":
            return self.list(key, token.line)
        if token.kind == "name":
            raise XlCfgError(f"line {token.line}: the value {token.value} of {key} needs "
                             f"quotes; write {key} = \"{token.value}\"")
        raise XlCfgError(f"line {token.line}: {key} has no value (found {_shown(token)}); "
                         f"write {key} = VALUE")

    def list(self, key, opened):
        items = []
        self.skip("newline")
        while self.next.kind != "]":
            if self.next.kind == "end":
                raise XlCfgError(f"line {self.next.line}: the list of {key} opened on line "
                                 f"{opened} is not closed; end it with ]")
            items.append(self.value(key))
            self.skip("newline")
            if self.next.kind == ",":
                self.take()
                self.skip("newline")
            elif self.next.kind not in ("]", "end"):
                raise XlCfgError(f"line {self.next.line}: expected ',' or ']' in the list of "
                                 f"{key}, found {_shown(self.next)}; separate the items with "
                                 f"commas")
        self.take()
        return items


def _shown(token):
    return {"newline": "the end of the line", "end": "the end of the file"}.get(
        token.kind, repr(token.value))


def _added(before, value, line):
    if before is None:
        return value
    if isinstance(before, list) and isinstance(value, list):
        return before + value
    if isinstance(before, str) and isinstance(value, str):
        return before + value
    raise XlCfgError(f"line {line}: += adds a list to a list or a string to a string; "
                     f"use = to replace the value")


class Settings:
    """An xl.cfg's settings with the line of each, read the way libvirt's xen_common.c reads
    them; a value libvirt would refuse is an XlCfgError naming the setting's line."""

    def __init__(self, values, lines):
        self.values, self.lines = values, lines

    def __contains__(self, key):
        return key in self.values

    def fail(self, key, problem):
        where = f"line {self.lines[key]}: " if key in self.lines else ""
        raise XlCfgError(f"{where}{key}: {problem}")

    def text(self, key, default=None):
        """A string setting; numbers read as their text (libvirt's xenConfigGetString)."""
        value = self.values.get(key, default)
        if isinstance(value, list):
            self.fail(key, "is a list where a string is expected; write it in quotes")
        return value if value is None or isinstance(value, str) else str(value)

    def number(self, key, default=None):
        """A whole number, given bare or in quotes (libvirt's xenConfigGetULong)."""
        value = self.values.get(key, default)
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            return int(value)
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        self.fail(key, f"{value!r} is not a whole number; write it as {key} = 512")

    def flag(self, key, default=False):
        """On for a non-zero number or the string "1", as libvirt's xenConfigGetBool reads it."""
        value = self.values.get(key)
        if value is None:
            return default
        if isinstance(value, list):
            self.fail(key, "is a list where 0 or 1 is expected; write it as " + key + " = 1")
        return value == "1" if isinstance(value, str) else value != 0

    def strings(self, key, single=False):
        """The strings of a list setting; a lone string counts as one only where `single` (as
        for serial and usbdevice), else xl and libvirt ignore it and so does this."""
        value = self.values.get(key)
        if not isinstance(value, list):
            return [str(value)] if single and value is not None else []
        return [str(item) for item in value if not isinstance(item, list)]

    def disks(self):
        """The disk= entries, each a Disk (DISKSPEC syntax)."""
        return self._each("disk", self.strings("disk"), disk)

    def pci_addresses(self):
        """The pci= entries, each a PciAddress."""
        return self._each("pci", self.strings("pci"), pci)

    def dicts(self, key, check=None):
        """Each entry of a key=value-list setting (vif, vfb, channel, usbctrl, usbdev, p9) as a
        dict, None for a bare word; `check` returns the dict or raises a ValueError, which then
        names key's line."""
        def entry_dict(entry):
            found = dict(key_values(entry))
            return check(found) if check else found
        return self._each(key, self.strings(key), entry_dict)

    def _each(self, key, entries, reader):
        found = []
        for entry in entries:
            try:
                found.append(reader(entry))
            except ValueError as err:
                self.fail(key, f"{entry!r}: {err}")
        return found


def read(text):
    """The Settings of an xl.cfg, or an XlCfgError for text that is not one."""
    return Settings(*_Reader(text).settings())


def parse(text):
    """An xl.cfg's settings: key -> str | int | float | list."""
    return read(text).values


def looks_like_xl_cfg(text):
    """False for an XML document (it starts with '<'), True for anything else to read."""
    start = text.lstrip(BOM + " \t\r\n")
    return bool(start) and not start.startswith("<")


def to_domain_xml(text, name=""):
    """The libvirt domain XML for an xl.cfg; `name` where the file has no name=."""
    return xlxml.domain_xml(read(text), name)


# The value syntaxes inside the strings.

def key_values(spec):
    """A comma-separated `key=value` list as (key, value) pairs, value None for a bare word."""
    found = []
    for part in spec.split(","):
        key, equals, value = part.strip().partition("=")
        if key:
            found.append((key, value if equals else None))
    return found


@dataclass(frozen=True)
class Disk:
    """One DISKSPEC as xl reads it (libxlu_disk_l.l, libxlu_disk.c)."""
    target: str  # '' for an empty CD-ROM
    format: str  # raw, qcow, qcow2, vhd, qed or empty
    vdev: str
    readonly: bool
    cdrom: bool
    backendtype: str  # phy, tap, qdisk, standalone, or '' for libxl's choice


DISK_FORMATS = ("raw", "qcow", "qcow2", "vhd", "qed", "empty")
DISK_BACKENDS = ("", "phy", "tap", "qdisk", "standalone")
# Deprecated prefixes of the target: a format, or (stripped and ignored) an old backend or script.
DISK_FORMAT_PREFIXES = ("raw:", "qcow:", "qcow2:", "vhd:")
DISK_OLD_PREFIXES = ("tapdisk:", "tap:", "tap2:", "aio:", "ioemu:", "file:", "phy:", "iscsi:",
                     "nbd:", "enbd:", "drbd:")
DISK_FLAGS = ("direct-io-safe", "discard", "no-discard", "colo", "no-colo", "trusted",
              "untrusted")
READONLY = {"": False, "rw": False, "w": False, "r": True, "ro": True}


def disk(spec):
    """Read a DISKSPEC: positional target,format,vdev,access, key=value settings, flags, the
    deprecated prefixes (phy:, tap:aio:, qcow2:) and vdev:cdrom; target= takes the rest."""
    found = {"target": None, "format": "", "vdev": "", "access": None, "cdrom": False,
             "backendtype": "", "prefixed": False}
    rest = spec
    while rest is not None:
        rest = _strip_prefixes(rest.lstrip(" \t\n"), found)
        if rest.startswith("target="):
            found["target"] = rest[len("target="):]
            break
        part, comma, rest = rest.partition(",")
        _disk_parameter(part, found)
        rest = rest if comma else None
    return _disk(found)


def _strip_prefixes(rest, found):
    while prefix := next((p for p in DISK_FORMAT_PREFIXES + DISK_OLD_PREFIXES
                          if rest.startswith(p)), None):
        if prefix in DISK_FORMAT_PREFIXES:
            found["format"] = prefix[:-1]
        found["prefixed"] = True
        rest = rest[len(prefix):]
    return rest


def _disk_parameter(part, found):
    key, equals, value = part.partition("=")
    if not equals:
        if part == "cdrom":
            found["cdrom"] = True
        elif part not in DISK_FLAGS:
            _disk_positional(part, found)
    elif key == "devtype":
        if value not in ("cdrom", "disk"):
            raise ValueError(f"unknown devtype {value!r}; use devtype=cdrom or leave it out")
        found["cdrom"] = value == "cdrom"
    elif key == "format":
        found["format"] = value or "raw"
    elif key in ("vdev", "access", "backendtype"):
        found[key] = value
    # Other settings (backend=, script=, specification=, colo-*=) are nothing libvirt maps.


def _disk_positional(part, found):
    """The next unfilled of target, format, vdev, access; a deprecated prefix takes the format's
    place, and vdev:cdrom right after an empty target marks an empty CD-ROM."""
    vdev, colon, devtype = part.rpartition(":")
    if found["target"] is None:
        found["target"] = part
    elif not found["prefixed"] and not found["format"]:
        if not found["target"] and colon:
            found.update(vdev=vdev, cdrom=devtype == "cdrom", format="empty")
        else:
            found["format"] = part or "raw"
    elif not found["vdev"]:
        found["vdev"] = vdev if colon else part
        if colon:
            found["cdrom"] = devtype == "cdrom"
    elif found["access"] is None:
        found["access"] = part
    else:
        raise ValueError(f"too many positional parameters at {part!r}; the order is "
                         f"target,format,vdev,access")


def _disk(found):
    fmt, access, backend = found["format"] or "raw", found["access"] or "", found["backendtype"]
    if fmt not in DISK_FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(DISK_FORMATS)}")
    if backend not in DISK_BACKENDS:
        raise ValueError(f"unknown backendtype {backend!r}; use phy, tap or qdisk")
    if access not in READONLY:
        raise ValueError(f"unknown access {access!r}; use ro or rw")
    if not found["vdev"]:
        raise ValueError("no vdev; add the guest's device name, e.g. vdev=xvda")
    if not found["target"] and not found["cdrom"]:
        raise ValueError("no target; add the image or device, e.g. target=/dev/vg/guest")
    empty = found["cdrom"] and not found["target"]
    return Disk(found["target"] or "", "empty" if empty else fmt, found["vdev"],
                READONLY[access] or found["cdrom"], found["cdrom"], backend)


@dataclass(frozen=True)
class PciAddress:
    domain: int
    bus: int
    slot: int
    function: int
    permissive: bool | None  # None: not said


def pci(spec):
    """Read a pci= entry: [DDDD:]BB:SS.F[@VSLOT][,permissive=1,...] (xen_common.c xenParsePCI)
    or the newer bdf=[DDDD:]BB:SS.F,... form."""
    settings = dict(key_values(spec))
    first = spec.split(",")[0].strip()
    bdf = settings.get("bdf") or first.split("@")[0]
    match = re.fullmatch(r"(?:([0-9a-fA-F]{1,4}):)?([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})"
                         r"\.([0-7])", bdf)
    if not match:
        raise ValueError(f"{bdf!r} is not a PCI address; write it as 0000:01:00.0")
    domain, bus, slot, function = (int(part or "0", 16) for part in match.groups())
    permissive = settings.get("permissive")
    if permissive is not None and not re.fullmatch(r"-?\d+", permissive):
        raise ValueError(f"permissive={permissive!r}; use permissive=0 or permissive=1")
    return PciAddress(domain, bus, slot, function,
                      None if permissive is None else int(permissive) != 0)
