"""Vulnerability records in the OSV format (https://ossf.github.io/osv-schema/), read from a
folder: every *.json file below it, each holding one record or a list of records.

    >>> db = load("osv")
    >>> db.covers("Debian:12", "qemu")
    True
    >>> [f.id for f in db.open_for("Debian:12", "qemu", "1:7.2+dfsg-7")]
    ['DEBIAN-CVE-2023-2861', 'DEBIAN-CVE-2023-3180']

Only ecosystems whose versions sort as dpkg sorts them ("Debian", "Debian:12") can be asked
which records are open; `covers` answers for any ecosystem.
"""

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from helpers.patches.debversion import DebVersion

DPKG_ECOSYSTEMS = ("Debian",)  # ecosystem names before any ":<release>" suffix
RANGE_TYPES = ("ECOSYSTEM", "SEMVER", "GIT")
EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")
SCHEMA = "https://ossf.github.io/osv-schema/"


class OsvError(ValueError):
    """An OSV folder, file or record vmiso cannot use; the message names it and the fix."""


@dataclass(frozen=True)
class Finding:
    """A record under which the installed version is affected."""
    id: str
    aliases: tuple
    summary: str
    fixed: str | None  # the first fixed version above the installed one; None: no fix known
    path: Path


@dataclass(frozen=True)
class Range:
    """An ECOSYSTEM range: its events in version order, as (kind, version) steps, where the
    version None is introduced "0"; and its limits, where None is "*"."""
    steps: tuple
    limits: tuple

    def affects(self, version):
        if self.limits and not any(limit is None or version < limit for limit in self.limits):
            return False
        affected = False
        for kind, at in self.steps:
            if kind == "introduced" and (at is None or version >= at):
                affected = True
            elif kind == "fixed" and version >= at:
                affected = False
            elif kind == "last_affected" and version > at:
                affected = False
        return affected


@dataclass(frozen=True)
class Affected:
    """One affected[] entry of a dpkg-ordered ecosystem, its versions parsed."""
    versions: tuple
    ranges: tuple

    def affects(self, version):
        return version in self.versions or any(r.affects(version) for r in self.ranges)

    def fixed_above(self, version):
        fixes = [at for r in self.ranges for kind, at in r.steps
                 if kind == "fixed" and at > version]
        return str(min(fixes)) if fixes else None


@dataclass(frozen=True)
class Record:
    id: str
    aliases: tuple  # aliases and upstream ids, CVE ids among them
    summary: str
    withdrawn: bool
    path: Path
    affected: tuple  # ((ecosystem, package), Affected, or None where the order is unsupported)


class Database:
    """The records of an OSV folder, looked up by ecosystem and package."""

    def __init__(self, folder, files, records):
        self.folder = Path(folder)
        self.files = tuple(files)
        self.records = tuple(records)
        self._index = defaultdict(list)
        for record in self.records:
            for key, affected in record.affected:
                self._index[key].append((record, affected))

    @property
    def ids(self):
        return tuple(record.id for record in self.records)

    def __len__(self):
        return len(self.records)

    def covers(self, ecosystem, package):
        """Whether any record names this package in this ecosystem (matched exactly)."""
        return (ecosystem, package) in self._index

    def open_for(self, ecosystem, package, version):
        """The records under which this version of the package is affected, withdrawn records
        left out. A malformed version raises ValueError."""
        _check_ordered(ecosystem)
        installed = DebVersion.parse(version)
        findings = {}
        for record, affected in self._index.get((ecosystem, package), ()):
            if record.withdrawn or record.id in findings or not affected.affects(installed):
                continue
            findings[record.id] = Finding(record.id, record.aliases, record.summary,
                                          affected.fixed_above(installed), record.path)
        return list(findings.values())


def load(folder):
    """Every record in the *.json files below folder; OsvError names the first problem."""
    folder = Path(folder)
    if not folder.exists():
        raise OsvError(f"OSV folder {folder} does not exist; pass one with --osv")
    if not folder.is_dir():
        raise OsvError(f"OSV folder {folder} is not a folder; pass a folder with --osv")
    files = sorted(folder.rglob("*.json"))
    if not files:
        raise OsvError(f"OSV folder {folder} holds no *.json file; pass a folder of OSV "
                       f"records with --osv")
    records, seen = [], {}
    for path in files:
        for record in _read(path):
            if record.id in seen:
                raise _bad(path, f"record {record.id}", f"is also in {seen[record.id]}",
                           "keep one of the two")
            seen[record.id] = path
            records.append(record)
    return Database(folder, files, records)


def is_dpkg_ordered(ecosystem):
    return ecosystem.split(":")[0] in DPKG_ECOSYSTEMS


def _check_ordered(ecosystem):
    if not is_dpkg_ordered(ecosystem):
        raise OsvError(f"the version order of OSV ecosystem {ecosystem!r} is not supported "
                       f"(only {', '.join(DPKG_ECOSYSTEMS)}); ask about a Debian package")


def _bad(path, where, problem, fix=f"correct it as {SCHEMA} describes or remove it"):
    return OsvError(f"OSV file {path}: {where} {problem}; {fix}")


def _read(path):
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise OsvError(f"OSV file {path} is not valid JSON ({err.msg} at line {err.lineno}); "
                       f"fix the file or remove it from the folder") from None
    except (OSError, UnicodeDecodeError) as err:
        raise OsvError(f"OSV file {path} cannot be read ({err}); fix the file or remove it "
                       f"from the folder") from None
    items = data if isinstance(data, list) else [data]
    return [_record(path, item, n) for n, item in enumerate(items)]


def _record(path, raw, index):
    if not isinstance(raw, dict):
        raise _bad(path, f"record {index}", "is not a JSON object")
    if not isinstance(raw.get("id"), str) or not raw["id"]:
        raise _bad(path, f"record {index}", "has no 'id' string")
    where = f"record {raw['id']}"
    aliases = _strings(path, raw, "aliases", where) + _strings(path, raw, "upstream", where)
    summary = raw.get("summary", raw.get("details", ""))
    if not isinstance(summary, str):
        raise _bad(path, where, "has a 'summary' that is not a string")
    entries = _list(path, raw, "affected", where)
    affected = tuple(_affected(path, entry, f"{where} affected[{n}]")
                     for n, entry in enumerate(entries))
    return Record(raw["id"], tuple(dict.fromkeys(aliases)), summary, "withdrawn" in raw, path,
                  affected)


def _affected(path, entry, where):
    if not isinstance(entry, dict) or not isinstance(entry.get("package"), dict):
        raise _bad(path, where, "has no 'package' object")
    package = entry["package"]
    for field in ("ecosystem", "name"):
        if not isinstance(package.get(field), str) or not package[field]:
            raise _bad(path, where, f"has no 'package.{field}' string")
    key = (package["ecosystem"], package["name"])
    versions = _strings(path, entry, "versions", where)
    ranges = {f"{where} ranges[{n}]": _range(path, r, f"{where} ranges[{n}]")
              for n, r in enumerate(_list(path, entry, "ranges", where))}
    if not is_dpkg_ordered(key[0]):
        return key, None
    parsed = tuple(_version(path, v, f"{where} versions") for v in versions)
    return key, Affected(parsed, tuple(_ordered(path, r, at) for at, r in ranges.items()
                                       if r["type"] != "GIT"))


def _range(path, raw, where):
    if not isinstance(raw, dict) or raw.get("type") not in RANGE_TYPES:
        raise _bad(path, where, f"has no 'type' of {', '.join(RANGE_TYPES)}")
    events = _list(path, raw, "events", where)
    for event in events:
        if (not isinstance(event, dict) or len(event) != 1 or next(iter(event)) not in EVENT_KINDS
                or not isinstance(next(iter(event.values())), str)):
            raise _bad(path, where, f"has the event {event!r}, not one of "
                       f"{', '.join(EVENT_KINDS)} with a version string")
    if not any("introduced" in event for event in events):
        raise _bad(path, where, "has no 'introduced' event")
    return raw


def _ordered(path, raw, where):
    """A range of a dpkg-ordered ecosystem, its versions parsed. GIT ranges are skipped: their
    events are commits, which an installed package version cannot be placed among."""
    if raw["type"] != "ECOSYSTEM":
        raise _bad(path, where, f"has a {raw['type']} range in a Debian ecosystem",
                   "give it as an ECOSYSTEM range")
    steps, limits = [], []
    for event in raw["events"]:
        (kind, text), = event.items()
        if kind == "limit":
            limits.append(None if "*" in text else _version(path, text, f"{where} limit"))
        elif kind == "introduced" and text == "0":
            steps.append((kind, None))
        else:
            steps.append((kind, _version(path, text, f"{where} {kind}")))
    steps.sort(key=lambda step: (0,) if step[1] is None else (1, step[1]))
    return Range(tuple(steps), tuple(limits))


def _version(path, text, where):
    try:
        return DebVersion.parse(text)
    except ValueError as err:
        raise _bad(path, where, f"has a version dpkg cannot read: {err}") from None


def _list(path, raw, field, where):
    value = raw.get(field, [])
    if not isinstance(value, list):
        raise _bad(path, where, f"has a '{field}' that is not a list")
    return value


def _strings(path, raw, field, where):
    value = _list(path, raw, field, where)
    if not all(isinstance(item, str) for item in value):
        raise _bad(path, where, f"has a '{field}' that is not a list of strings")
    return value
