"""The mutation matrix (tests/support/mutations.toml) read and applied to the hardened template.

    matrix = load()
    matrix["HV-03"].kind                   # 'template'
    apply(HARDENED_XML, [matrix["HV-03"]]) # the hardened XML with an ich6 sound card
"""

import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

MATRIX = Path(__file__).resolve().parent / "mutations.toml"
TEMPLATE_OPS = ("set", "remove", "add", "add_root")  # applied in this order
OTHER_KINDS = ("host", "policy", "simulated", "static")


@dataclass(frozen=True)
class Mutation:
    control: str
    description: str
    kind: str  # one of TEMPLATE_OPS, or host, policy, simulated, static
    value: object

    @property
    def is_template(self):
        return self.kind in TEMPLATE_OPS

    @property
    def key(self):
        """Identical mutations of several controls share a key and are applied once."""
        return (self.kind, repr(self.value))


def load(path=MATRIX):
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    mutations = {}
    for control, fields in raw.items():
        kinds = [k for k in TEMPLATE_OPS + OTHER_KINDS if k in fields]
        if len(kinds) != 1:
            raise ValueError(f"{path}: control {control} needs exactly one mutation, has {kinds}")
        mutations[control] = Mutation(control, fields["mutation"], kinds[0], fields[kinds[0]])
    return mutations


def apply(xml, mutations):
    """The template XML with every template mutation applied (each distinct one once)."""
    root = ET.fromstring(xml)
    unique = {m.key: m for m in mutations if m.is_template}.values()
    for op in TEMPLATE_OPS:
        for mutation in (m for m in unique if m.kind == op):
            _OPS[op](root, mutation.value)
    return ET.tostring(root, encoding="unicode")


def _set(root, value):
    attributes = dict(value)
    path = attributes.pop("path")
    targets = root.findall(path)
    if not targets:
        raise ValueError(f"mutation path {path!r} matches nothing in the template")
    text = attributes.pop("text", None)
    for element in targets:
        element.attrib.update(attributes)
        if text is not None:
            element.text = text


def _remove(root, path):
    parent_path, _, _ = path.rpartition("/")
    removed = 0
    for parent in root.findall(parent_path):
        for child in parent.findall(path.rsplit("/", 1)[1]):
            parent.remove(child)
            removed += 1
    if not removed:
        raise ValueError(f"mutation path {path!r} matches nothing in the template")


def _add(root, snippets):
    for snippet in [snippets] if isinstance(snippets, str) else snippets:
        root.find("devices").append(ET.fromstring(snippet))


def _add_root(root, snippet):
    root.append(ET.fromstring(snippet))


_OPS = {"set": _set, "remove": _remove, "add": _add, "add_root": _add_root}
