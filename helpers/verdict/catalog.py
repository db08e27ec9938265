"""The control catalog: what each control requires, and which checks prove it (named, not held).

    >>> catalog = load()
    >>> catalog["HV-01"].severity
    'critical'
    >>> catalog["NET-01"].template_rule      # helpers/template/rules.py's host_filter
    'host_filter'
    >>> catalog["ESC-01"].owner              # who fixes it: qemu.conf is the host's
    'host'
"""

import re
import tomllib
from dataclasses import dataclass

from helpers import CHECKOUT

CATALOG_PATH = CHECKOUT / "catalog" / "controls.toml"
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
# Whose a failing control is: fixed on the hypervisor host (its libvirt, QEMU and kernel
# configuration, packages, network and firewall), in the template (the domain XML or xl.cfg),
# or either (the host's setting or the template's element, whichever the operator owns).
HOST, TEMPLATE, HOST_OR_TEMPLATE = "host", "template", "host or template"
OWNERS = (HOST, TEMPLATE, HOST_OR_TEMPLATE)
# --fail-on: the lowest severity whose failure fails the run, or any.
FAIL_ON = ("any",) + SEVERITIES
REQUIRED = ("title", "risk", "severity", "owner", "references", "remediation", "checks")
OPTIONAL = ("mirrored", "template_rule", "qtree")
CHECK_NAME = re.compile(r"^suites/test_\w+\.py::test_\w+$")
RULE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class CatalogError(ValueError):
    """The catalog file is malformed; the message names the control and the field."""


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    risk: int
    severity: str
    owner: str  # one of OWNERS: whose setting the remediation changes
    references: tuple
    remediation: str
    checks: tuple  # "suites/<file>.py::<check>": every check marked with the control
    mirrored: bool = False  # the template and the running guest describe the same fact
    template_rule: str | None = None  # the rule of helpers/template/rules.py that reads the XML
    qtree: bool = False  # rules.QTREE_SURFACE names its QEMU device types (info qtree)


def load(path=CATALOG_PATH):
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    return {cid: _control(cid, fields) for cid, fields in raw.items()}


def _control(cid, fields):
    missing = set(REQUIRED) - set(fields)
    if missing:
        raise CatalogError(f"control {cid} lacks {', '.join(sorted(missing))}")
    unknown = set(fields) - set(REQUIRED) - set(OPTIONAL)
    if unknown:
        raise CatalogError(f"control {cid}: unknown field {', '.join(sorted(unknown))} (known: "
                           f"{', '.join(REQUIRED + OPTIONAL)})")
    if fields["severity"] not in SEVERITIES:
        raise CatalogError(f"control {cid}: severity {fields['severity']!r} is not one of "
                           f"{', '.join(SEVERITIES)}")
    if fields["risk"] not in RISK_FACTORS:
        raise CatalogError(f"control {cid}: risk {fields['risk']!r} is not a factor 1-7")
    if fields["owner"] not in OWNERS:
        raise CatalogError(f"control {cid}: owner {fields['owner']!r} is not one of "
                           f"{', '.join(repr(o) for o in OWNERS)}")
    return Control(cid, fields["title"], fields["risk"], fields["severity"], fields["owner"],
                   tuple(fields["references"]), fields["remediation"].strip(), _checks(cid, fields),
                   bool(fields.get("mirrored", False)), _template_rule(cid, fields),
                   _qtree(cid, fields))


def _checks(cid, fields):
    checks = fields["checks"]
    if not isinstance(checks, list) or not checks:
        raise CatalogError(f"control {cid}: checks must name at least one check that proves it")
    wrong = [c for c in checks if not isinstance(c, str) or not CHECK_NAME.match(c)]
    if wrong:
        raise CatalogError(f"control {cid}: checks {wrong[0]!r} is not "
                           f"\"suites/test_<area>.py::test_<name>\"")
    return tuple(checks)


def _template_rule(cid, fields):
    rule = fields.get("template_rule")
    if rule is not None and not (isinstance(rule, str) and RULE_NAME.match(rule)):
        raise CatalogError(f"control {cid}: template_rule {rule!r} is not the name of a function "
                           f"of helpers/template/rules.py")
    return rule


def _qtree(cid, fields):
    qtree = fields.get("qtree", False)
    if not isinstance(qtree, bool):
        raise CatalogError(f"control {cid}: qtree {qtree!r} is not true or false")
    return qtree
