"""A template file as the user keeps it: a libvirt domain XML, or a Xen xl.cfg read into the
domain XML libvirt's libxl driver would make of it; with the line of each XML element.

    template = read(locate("hardened"))          # a built-in name or a path
    template.domain.machine          # 'q35'
    template.line_of(template.domain.root.find("devices/video"))   # 52
    paths = expand(["templates/", "xen/web.cfg"], XML_OR_XL_CFG)   # a folder gives its files

What names a template is the same for every command (vmiso conformance --template, vmiso
check-templates): a built-in name, a file, or a folder of them; a problem with it raises
TemplateArgumentError, one line each command prefixes with its own option.
"""

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from helpers import CHECKOUT
from helpers.template import xlcfg, xlxml
from helpers.template.domxml import Domain, TemplateError

TEMPLATES = CHECKOUT / "templates"  # the built-in templates, by name
# The files a folder given as a template holds, {pattern: what they are}: a live run boots
# domain XML; a static run reads xl.cfg files as well (xl's own convention: NAME.cfg).
DOMAIN_XML = {"*.xml": "libvirt domain XML"}
XML_OR_XL_CFG = {"*.xml": "libvirt domain XML", "*.cfg": "xl.cfg"}

# The xl.cfg settings each libvirt element comes from, most specific first (an element of an
# xl.cfg template is placed on the first of them the file sets).
XL_SOURCES = {
    "disk": ("disk",), "interface": ("vif",), "graphics": ("spice", "vnc", "vfb", "sdl"),
    "video": ("vga", "stdvga", "videoram", "vnc", "spice", "vfb"), "sound": ("soundhw",),
    "input": ("usbdevice",), "controller": ("usbctrl", "disk"), "hostdev": ("pci", "usbdev"),
    "redirdev": ("spiceusbredirection",), "channel": ("channel", "spicevdagent"),
    "filesystem": ("p9",), "cpu": ("nestedhvm", "cpuid"), "serial": ("serial",),
    "parallel": ("parallel",), "memballoon": ("memory",), "memory": ("memory", "maxmem"),
    "os": ("type", "builder"), "type": ("type", "builder"), "emulator": ("device_model_override",),
    "commandline": ("device_model_args", "device_model_args_hvm", "device_model_args_pv"),
    "arg": ("device_model_args", "device_model_args_hvm", "device_model_args_pv"),
    "clipboard": ("spice_clipboard_sharing",), "devices": ("type", "builder", "name"),
    "domain": ("name",),
}


@dataclass
class TemplateFile:
    path: Path
    domain: Domain
    dialect: str  # "libvirt XML" or "xl.cfg"
    lines: dict = field(default_factory=dict)  # element -> 1-based line of what made it

    def line_of(self, element):
        return self.lines.get(element)


class TemplateArgumentError(ValueError):
    """A template argument that names no usable set of templates (one line, without the
    option's name: each command adds its own)."""


def locate(value):
    """A built-in template's file (hardened, leaky) or the path given."""
    built_in = TEMPLATES / f"{value}.xml"
    return built_in if built_in.exists() else Path(value)


def folder_files(value, kinds=DOMAIN_XML):
    """The template files one argument names: a built-in's or the file given, or the files of
    the folder given that match `kinds`' patterns (not its subfolders'), sorted by path."""
    path = locate(value)
    if not path.is_dir():
        return [path]
    files = sorted({found for pattern in kinds for found in path.glob(pattern)})
    if not files:
        raise TemplateArgumentError(
            f"{value}: the folder has no {' or '.join(kinds)} template; name a folder of "
            f"{' or '.join(kinds.values())} files")
    return files


def refuse_same_names(paths):
    """TemplateArgumentError when two templates share a file name (a report names each
    template by it)."""
    seen = {}
    for path in paths:
        if path.stem in seen:
            raise TemplateArgumentError(
                f"two templates named {path.stem} ({seen[path.stem]}, {path}); the report names "
                f"templates by file name, give each once under its own name")
        seen[path.stem] = path


def expand(values, kinds=DOMAIN_XML):
    """Every template file the arguments name (folder_files of each), in the order given;
    TemplateArgumentError for an empty folder or two templates of one name."""
    paths = [path for value in values for path in folder_files(value, kinds)]
    refuse_same_names(paths)
    return paths


def parse_with_lines(text):
    """(root element, {element: line}) of an XML document, as ElementTree would build it."""
    builder, lines = ET.TreeBuilder(), {}
    parser = expat.ParserCreate(namespace_separator="}")

    def start(tag, attributes):
        element = builder.start(_qualified(tag), {_qualified(k): v for k, v in
                                                  attributes.items()})
        lines[element] = parser.CurrentLineNumber

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda tag: builder.end(_qualified(tag))
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(text, True)
    except expat.ExpatError as err:
        raise TemplateError(f"not well-formed XML ({err})") from None
    return builder.close(), lines


def _qualified(name):
    """expat's 'uri}local' as ElementTree's '{uri}local'."""
    return "{" + name if "}" in name else name


def read(path):
    """The template at `path`; OSError when unreadable, TemplateError (one line) when it is
    neither a domain XML nor an xl.cfg."""
    path = Path(path)
    text = path.read_text()
    if xlcfg.looks_like_xl_cfg(text):
        return _read_xl_cfg(path, text)
    root, lines = parse_with_lines(text)
    return TemplateFile(path, Domain(root), "libvirt XML", lines)


def unreadable(path, err):
    """What is wrong with a template `read` raised OSError `err` for, in a few words."""
    if isinstance(err, FileNotFoundError):
        return f"template {path} does not exist"
    return f"template {path} cannot be read ({err.strerror or err})"


def _read_xl_cfg(path, text):
    try:
        settings = xlcfg.read(text)
        domain = Domain.from_string(xlxml.domain_xml(settings, path.stem))
    except xlcfg.XlCfgError as err:
        raise TemplateError(f"not a usable xl.cfg: {err}") from None
    lines = {}
    for element in domain.root.iter():
        keys = XL_SOURCES.get(element.tag.rpartition("}")[2], ())
        line = next((settings.lines[k] for k in keys if k in settings.lines), None)
        if line is not None:
            lines[element] = line
    return TemplateFile(path, domain, "xl.cfg", lines)
