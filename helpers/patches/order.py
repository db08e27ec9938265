"""The version order of an OSV ecosystem: dpkg's for Debian and Ubuntu, rpm's for the Red Hat
family (Red Hat, Rocky Linux, AlmaLinux).

    parse = version_parser("Rocky Linux:9")
    parse("17:8.2.0-11.el9_4") < parse("17:8.2.0-11.el9_4.1")      # True

rpm's order is univers' port of rpmvercmp (aboutcode.org, maintained for VulnerableCode);
dpkg's is helpers/patches/debversion.py. Both are checked against the real tools in the unit
tests.
"""

import functools

from univers.rpm import RpmVersion

from helpers.patches.debversion import DebVersion

DPKG_ECOSYSTEMS = ("Debian", "Ubuntu")
RPM_ECOSYSTEMS = ("Red Hat", "Rocky Linux", "AlmaLinux")


def rpm_version(text):
    """An RpmVersion of '[epoch:]version[-release]'; ValueError where rpm could not read it."""
    text = str(text).strip()
    epoch, colon, rest = text.rpartition(":")
    if not text or any(c.isspace() for c in text) or (colon and not epoch.isdigit()) or \
            not rest or rest.startswith("-") or rest.endswith("-"):
        raise ValueError(f"{text!r} is not an rpm version ([epoch:]version[-release])")
    return RpmVersion.from_string(text)


# A feed names the same fixed versions over and over (a kernel release fixes hundreds of CVEs)
parse_dpkg = functools.lru_cache(maxsize=65536)(DebVersion.parse)
parse_rpm = functools.lru_cache(maxsize=65536)(rpm_version)


def version_parser(ecosystem):
    """The parser of versions of this ecosystem, None where vmiso knows no order for it."""
    family = ecosystem.split(":")[0]
    if family in DPKG_ECOSYSTEMS:
        return parse_dpkg
    if family in RPM_ECOSYSTEMS:
        return parse_rpm
    return None
