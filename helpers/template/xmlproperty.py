"""Accessors of a domain XML declared as data, one line each (virt-manager's XMLProperty is the
model): a class attribute names the XPath and the attribute, and reading it on an instance
reads the instance's `root`.

    class Domain:
        sound_models = Each("devices/sound", "model")         # ['ich9', ''] ('' where unset)
        nic_models = Each("devices/interface", "type", child="model")
        cpu_mode = Attribute("cpu", "mode")                   # 'host-passthrough', '' if none
        emulator = Text("devices/emulator")                   # '/usr/bin/qemu-system-x86_64'

Paths are ElementTree's subset of XPath, relative to the root element ("." is the root itself).
"""


class _Declared:
    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, instance, owner=None):
        return self if instance is None else self.read(instance.root)


class Each(_Declared):
    """The attribute of every element at `path` (of its first `child` element, where given), in
    document order; `default` where the attribute, or the child, is absent."""

    def __init__(self, path, attribute, default="", child=None):
        self.path, self.attribute, self.default, self.child = path, attribute, default, child

    def read(self, root):
        elements = root.findall(self.path)
        if self.child is not None:
            elements = [element.find(self.child) for element in elements]
        return [self.default if element is None else element.get(self.attribute, self.default)
                for element in elements]


class Attribute(_Declared):
    """An attribute of the first element at `path`; '' where either is absent."""

    def __init__(self, path, attribute):
        self.path, self.attribute = path, attribute

    def read(self, root):
        element = root.find(self.path)
        return "" if element is None else element.get(self.attribute, "")


class Text(_Declared):
    """The text of the first element at `path`, '' where it is absent; stripped with `strip`."""

    def __init__(self, path, strip=False):
        self.path, self.strip = path, strip

    def read(self, root):
        text = root.findtext(self.path) or ""
        return text.strip() if self.strip else text
