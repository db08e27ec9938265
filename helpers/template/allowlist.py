"""HV-09's device allowlist: the QEMU device types a guest may have, from the policy file's
[devices] table (the default policy's where a policy file has none).

    allowed = load(Path("policies/default.toml"))
    rules.is_allowed("virtio-net-pci", allowed)     # True
"""

import tomllib
from pathlib import Path

DEFAULT_POLICY = Path(__file__).resolve().parents[2] / "policies" / "default.toml"


class AllowlistError(ValueError):
    """The policy's [devices] table is malformed; the message says how to fix it."""


def load(path):
    """The allowed device types (names or shell-style patterns) as a tuple."""
    with open(path, "rb") as f:
        table = tomllib.load(f).get("devices")
    if table is None:
        return load(DEFAULT_POLICY) if Path(path).resolve() != DEFAULT_POLICY else ()
    allowed = table.get("allowed") if isinstance(table, dict) else None
    if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
        raise AllowlistError(f"policy file {path}: [devices] allowed must be a list of QEMU "
                             f"device type names, e.g. allowed = [\"virtio-net-pci\"]")
    return tuple(allowed)
