"""The control catalog: what each control requires, kept apart from the checks that test it.

    >>> catalog = load()
    >>> catalog["HV-01"].severity
    'critical'
"""

import tomllib
from dataclasses import dataclass
from pathlib import Path

CATALOG_PATH = Path(__file__).resolve().parents[2] / "catalog" / "controls.toml"
SEVERITIES = ("critical", "high", "medium", "low")  # most severe first
# The seven risk factors of the threat model, by number.
RISK_FACTORS = {
    1: "hypervisor attack surface",
    2: "escape containment",
    3: "shares, clipboard and host channels",
    4: "network isolation",
    5: "shared devices and privileges",
    6: "patch levels",
    7: "management plane",
}
# --fail-on: the lowest severity whose failure fails the run, or any.
FAIL_ON = ("any",) + SEVERITIES


class CatalogError(ValueError):
    """The catalog file is malformed; the message names the control and the field."""


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    risk: int
    severity: str
    references: tuple
    remediation: str
    mirrored: bool = False  # the template and the running guest describe the same fact


def load(path=CATALOG_PATH):
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    return {cid: _control(cid, fields) for cid, fields in raw.items()}


def _control(cid, fields):
    missing = {"title", "risk", "severity", "references", "remediation"} - set(fields)
    if missing:
        raise CatalogError(f"control {cid} lacks {', '.join(sorted(missing))}")
    if fields["severity"] not in SEVERITIES:
        raise CatalogError(f"control {cid}: severity {fields['severity']!r} is not one of "
                           f"{', '.join(SEVERITIES)}")
    if fields["risk"] not in RISK_FACTORS:
        raise CatalogError(f"control {cid}: risk {fields['risk']!r} is not a factor 1-7")
    return Control(cid, fields["title"], fields["risk"], fields["severity"],
                   tuple(fields["references"]), fields["remediation"].strip(),
                   bool(fields.get("mirrored", False)))
