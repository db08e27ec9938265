"""The policy file, read once into every part of it: the version floors and CVE tables of QEMU
(PAT-01), libvirt (PAT-02), the host's and the guest's kernel (PAT-03, PAT-04), the triage of
unfixed CVEs ([patches]), the floors of installed packages (PAT-06, PAT-07: [packages]),
whether SMT is accepted (DEV-06) and HV-09's device allowlist.

    policies = read(for_template("templates/hardened.xml"))  # policies/hardened.toml, else default
    policies.qemu.floor              # Version(parts=(7, 2, 0))
    policies.allowed_devices[:2]     # ('mch', 'q35-pcihost')

Whatever is wrong with the file is a PolicyError of one line:
"policy file PATH: what is wrong; how to fix it".
"""

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from helpers import CHECKOUT
from helpers.patches import triage
from helpers.patches.triage import TriagePolicy
from helpers.patches.versions import Cve, Policy, Version

POLICIES = CHECKOUT / "policies"
DEFAULT = POLICIES / "default.toml"
COMPONENTS = ("qemu", "libvirt", "host_kernel", "guest_kernel")
TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")  # what tomllib appends


class PolicyError(ValueError):
    """A problem in the policy file the user gave, not a bug of vmiso."""

    def __init__(self, path, what, fix):
        super().__init__(f"policy file {path}: {what}; {fix}")


@dataclass(frozen=True)
class CoresidencyPolicy:
    accept_smt: bool = False  # core scheduling keeps distrusting guests off each other's siblings
    # DEV-09: the least share of a busy neighbour's CPU a guest that went short of its core gets
    neighbour_share: float = 0.5


@dataclass(frozen=True)
class CpuPolicy:
    """The CPU vulnerabilities the host kernel must report (PAT-03): a kernel that does not list
    one in /sys/devices/system/cpu/vulnerabilities predates its mitigation."""
    reported: tuple = ()


@dataclass(frozen=True)
class PackagePolicy:
    """The lowest version accepted per source package, in its distribution's version order: of
    the guest's packages (PAT-06) and of the host's virtualization packages (PAT-07)."""
    guest_floor: dict = field(default_factory=dict)
    host_floor: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Policies:
    """Every part of a policy file."""
    qemu: Policy
    libvirt: Policy
    host_kernel: Policy
    guest_kernel: Policy
    patches: TriagePolicy  # triage of unfixed CVEs, the OSV feed's age
    coresidency: CoresidencyPolicy
    allowed_devices: tuple  # QEMU device types or shell-style patterns
    packages: PackagePolicy = PackagePolicy()  # floors of installed packages
    cpu: CpuPolicy = CpuPolicy()  # the CPU vulnerabilities the host kernel must know


def for_template(template, given=None):
    """The policy file: the one given, else the built-in one named after the template, else
    the default."""
    if given:
        return Path(given)
    named = POLICIES / f"{Path(template).stem}.toml"
    return named if named.exists() else DEFAULT


def read(path):
    """Every part of the policy file at `path`; PolicyError where it is missing or malformed."""
    raw = _parse(path)
    return Policies(*(_version_policy(path, raw, name) for name in COMPONENTS),
                    _patches(path, _table(path, raw, "patches")),
                    _coresidency(path, _table(path, raw, "coresidency")),
                    _devices(path, raw), _packages(path, _table(path, raw, "packages")),
                    _cpu(path, raw))


def _parse(path):
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise PolicyError(path, "does not exist", "pass an existing one with --policy") from None
    except OSError as err:
        raise PolicyError(path, f"cannot be read ({err.strerror})",
                          "pass a readable file with --policy") from None
    except UnicodeDecodeError:
        raise PolicyError(path, "is not UTF-8 text", "save it as UTF-8") from None
    except tomllib.TOMLDecodeError as err:
        at = TOML_POSITION.search(str(err))
        if at is None:
            raise PolicyError(path, f"is not valid TOML ({err})", "correct its syntax") from None
        raise PolicyError(path, f"line {at[1]} is not valid TOML ({str(err)[:at.start()]} at "
                                f"column {at[2]})", f"correct line {at[1]}") from None


def _table(path, raw, name):
    """The [name] table, empty where the file has none."""
    table = raw.get(name, {})
    if not isinstance(table, dict):
        raise PolicyError(path, f"[{name}] is not a table",
                          f"write its keys under one [{name}] header")
    return table


def _version_policy(path, raw, name):
    """The [name] table: its floor and CVEs. A CVE without `devices` applies whatever the
    guest's hardware (libvirt's, for instance)."""
    if name not in raw:
        raise PolicyError(path, f"has no [{name}] table",
                          f'add a [{name}] table with floor = "7.2.0", the lowest version accepted')
    table = _table(path, raw, name)
    if "floor" not in table:
        raise PolicyError(path, f"[{name}] has no floor",
                          'add the lowest version accepted, e.g. floor = "7.2.0"')
    cves = table.get("cve", [])
    if not isinstance(cves, list) or not all(isinstance(c, dict) for c in cves):
        raise PolicyError(path, f"{name}.cve is not an array of tables",
                          f"put each CVE under its own [[{name}.cve]] header")
    return Policy(_version(path, table["floor"], f"[{name}] floor", "7.2.0"),
                  tuple(_cve(path, f"[[{name}.cve]]", n, c) for n, c in enumerate(cves, 1)))


def _cve(path, header, number, entry):
    cve_id = entry.get("id")
    if not isinstance(cve_id, str) or not cve_id:
        raise PolicyError(path, f"{header} number {number} has no id",
                          'add it as a string, e.g. id = "CVE-2023-2861"')
    where = f"{header} {cve_id}"
    if "fixed" not in entry:
        raise PolicyError(path, f"{where} has no fixed",
                          'add the first upstream release with the fix, e.g. fixed = "8.1.0"')
    stable = entry.get("stable", [])
    if not isinstance(stable, list):
        raise PolicyError(path, f"{where} stable is not a list",
                          'list the first fixed release of each older series, e.g. '
                          'stable = ["7.2.4"]')
    return Cve(cve_id, _version(path, entry["fixed"], f"{where} fixed", "8.1.0"),
               tuple(_version(path, s, f"{where} stable", "7.2.4") for s in stable),
               _pattern(path, f"{where} devices", entry.get("devices", "")))


def _version(path, value, where, example):
    try:
        if isinstance(value, str):
            return Version.parse(value)
    except ValueError:
        pass
    raise PolicyError(path, f"{where} {value!r} is not a version number",
                      f'write it as a string, e.g. "{example}"')


def _pattern(path, where, devices):
    """The regular expression of the QEMU device types a CVE's code serves."""
    fix = 'write a regular expression of QEMU device types, e.g. devices = "^virtio-9p-"'
    if not isinstance(devices, str):
        raise PolicyError(path, f"{where} {devices!r} is not a string", fix)
    try:
        return re.compile(devices)
    except re.error as err:
        raise PolicyError(path, f"{where} {devices!r} is not a regular expression ({err})",
                          fix) from None


def _patches(path, table):
    """The [patches] table (defaults where it is absent)."""
    accept = table.get("accept_unfixed", list(triage.ACCEPT_UNFIXED))
    age = table.get("feed_max_age_days", triage.FEED_MAX_AGE_DAYS)
    if not isinstance(accept, list) or not all(isinstance(a, str) for a in accept):
        raise PolicyError(path, "[patches] accept_unfixed is not a list of words",
                          'write e.g. accept_unfixed = ["unimportant", "no-dsa"]')
    if not isinstance(age, int) or isinstance(age, bool) or age < 0:
        raise PolicyError(path, f"[patches] feed_max_age_days {age!r} is not a whole number of "
                                f"days", "give 0 or more, e.g. feed_max_age_days = 7")
    return TriagePolicy(frozenset(triage.word(a) for a in accept), age)


def _packages(path, table):
    """The [packages] table: guest_floor and host_floor, {source package: version} (none
    where it is absent)."""
    floors = {}
    for key in ("guest_floor", "host_floor"):
        value = table.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) and v.strip()
                                                  for v in value.values()):
            raise PolicyError(path, f"[packages] {key} is not a table of source package "
                                    f"versions", f'write e.g. {key} = {{ libvirt = "9.0.0-4" }}')
        floors[key] = dict(value)
    return PackagePolicy(**floors)


def _coresidency(path, table):
    """The [coresidency] table (defaults where it is absent)."""
    accept = table.get("accept_smt", False)
    if not isinstance(accept, bool):
        raise PolicyError(path, f"[coresidency] accept_smt {accept!r} is not true or false",
                          "write accept_smt = true where core scheduling keeps guests apart, "
                          "else false")
    share = table.get("neighbour_share", CoresidencyPolicy.neighbour_share)
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
        raise PolicyError(path, f"[coresidency] neighbour_share {share!r} is not a fraction "
                                f"above 0 and at most 1",
                          "write e.g. neighbour_share = 0.5 (a guest gets at least half of what "
                          "a busy neighbour gets)")
    return CoresidencyPolicy(accept, float(share))


def _cpu(path, raw):
    """The [cpu_vulnerabilities] table; the default policy's where the file has none."""
    if "cpu_vulnerabilities" not in raw:
        return CpuPolicy() if Path(path).resolve() == DEFAULT.resolve() else read(DEFAULT).cpu
    reported = _table(path, raw, "cpu_vulnerabilities").get("reported", [])
    if not isinstance(reported, list) or not all(isinstance(r, str) and r.strip() and "/" not in r
                                                 for r in reported):
        raise PolicyError(path, "[cpu_vulnerabilities] reported is not a list of the names in "
                                "/sys/devices/system/cpu/vulnerabilities",
                          'write e.g. reported = ["vmscape", "tsa"]')
    return CpuPolicy(tuple(reported))


def _devices(path, raw):
    """The [devices] table's allowlist; the default policy's where the file has no [devices]."""
    if "devices" not in raw:
        return () if Path(path).resolve() == DEFAULT.resolve() else read(DEFAULT).allowed_devices
    allowed = _table(path, raw, "devices").get("allowed")
    if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
        raise PolicyError(path, "[devices] allowed is not a list of QEMU device type names",
                          'write e.g. allowed = ["virtio-net-pci", "virtio-*-device"]')
    return tuple(allowed)
