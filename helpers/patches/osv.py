"""Vulnerability records in the OSV format (https://ossf.github.io/osv-schema/): which of them
leave an installed build of a package open.

    >>> db = load("osv/debian-12")
    >>> db.covers(["Debian:12"], ["qemu"])
    True
    >>> [f.id for f in db.open_for(["Debian:12"], ["qemu"], "1:7.2+dfsg-7")]
    ['DEBIAN-CVE-2023-2861', 'DEBIAN-CVE-2023-3180']

Records that name the same CVE (a DSA or DLA and the DEBIAN-CVE records it lists in `upstream`
or `aliases`) are one finding. Only the affected entries of the asked packages are read, and
only their versions are parsed: the rest of a feed stays text (helpers/patches/feed.py).
"""

from dataclasses import dataclass

from helpers.patches import triage
from helpers.patches.feed import Feed, FeedError
from helpers.patches.order import version_parser

OsvError = FeedError
RANGE_TYPES = ("ECOSYSTEM", "SEMVER", "GIT")
EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")
SCHEMA = "https://ossf.github.io/osv-schema/"


@dataclass(frozen=True)
class Finding:
    """An open vulnerability: the records that name it, its CVE ids, the first fixed version
    above the installed one (None: no fix yet) and the distribution's triage."""
    id: str
    ids: tuple
    cves: tuple
    summary: str
    fixed: str | None
    triage: triage.Triage
    where: str

    @property
    def aliases(self):
        return tuple(i for i in self.ids[1:] + self.cves if i != self.id)

    @property
    def label(self):
        others = [i for i in dict.fromkeys(self.ids[1:] + self.cves) if i != self.id]
        return f"{self.id} ({', '.join(others)})" if others else self.id


class Database:
    """The records of an OSV feed, asked by ecosystem, package and installed version."""

    def __init__(self, feed):
        self.feed = feed
        self.folder = feed.path

    def __len__(self):
        return len(self.feed)

    @property
    def date(self):
        return self.feed.date

    def ecosystems(self, matches):
        """The feed's ecosystems for which matches(ecosystem) is true."""
        return [e for e in self.feed.ecosystems if matches(e)]

    def covers(self, ecosystems, packages):
        return any(self.feed.covers(e, p) for e in ecosystems for p in packages)

    def open_for(self, ecosystems, packages, version):
        """The findings under which this version is affected, withdrawn records left out. A
        version its ecosystem's order cannot read raises ValueError; a malformed record,
        OsvError."""
        opened = {}
        for ecosystem in ecosystems:
            parse = version_parser(ecosystem)
            if parse is None:
                raise OsvError(f"the version order of OSV ecosystem {ecosystem!r} is not "
                               f"supported; ask about a Debian, Ubuntu or Red Hat family build")
            installed = parse(version)
            for package in packages:
                for entry, record in self.feed.records(ecosystem, package):
                    if "withdrawn" in record or entry.id in opened:
                        continue
                    hit = _open_in(entry, record, (ecosystem, package), version, installed,
                                   parse)
                    if hit:
                        opened[entry.id] = hit
        return _grouped(list(opened.values()))


def load(path):
    """The records of an OSV folder or zip; OsvError names the problem."""
    return Database(Feed.open(path))


@dataclass(frozen=True)
class _Open:
    id: str
    cves: tuple
    summary: str
    fixed: object  # the parsed first fix above the installed version, or None
    triage: triage.Triage
    where: str


def _open_in(entry, record, key, text, installed, parse):
    for n, affected in enumerate(_list(record, "affected", entry)):
        if not isinstance(affected, dict) or _key(affected) != key:
            continue
        where = f"{entry.where} affected[{n}]"
        ranges = [_range(r, f"{where} ranges[{i}]", parse)
                  for i, r in enumerate(_list(affected, "ranges", entry))]
        ranges = [r for r in ranges if r is not None]
        listed = text in _strings(affected, "versions", entry)
        if listed or any(_affects(steps, limits, installed) for steps, limits in ranges):
            fixes = [at for steps, _ in ranges for kind, at in steps
                     if kind == "fixed" and at > installed]
            return _Open(record.get("id", entry.id), _cves(record, entry),
                         _summary(record), min(fixes) if fixes else None,
                         triage.read(record, affected), entry.where)
    return None


def _key(affected):
    package = affected.get("package")
    if not isinstance(package, dict):
        return None
    return package.get("ecosystem"), package.get("name")


def _range(raw, where, parse):
    """(steps, limits) of an ECOSYSTEM range in version order; None for a GIT range (its events
    are commits, which an installed version cannot be placed among)."""
    if not isinstance(raw, dict) or raw.get("type") not in RANGE_TYPES:
        raise _bad(where, f"has no 'type' of {', '.join(RANGE_TYPES)}")
    if raw["type"] == "GIT":
        return None
    if raw["type"] != "ECOSYSTEM":
        raise _bad(where, f"has a {raw['type']} range in a distribution's ecosystem",
                   "give it as an ECOSYSTEM range")
    events = raw.get("events")
    if not isinstance(events, list) or not any(isinstance(e, dict) and "introduced" in e
                                               for e in events):
        raise _bad(where, "has no 'introduced' event")
    steps, limits = [], []
    for event in events:
        if (not isinstance(event, dict) or len(event) != 1 or next(iter(event)) not in EVENT_KINDS
                or not isinstance(next(iter(event.values())), str)):
            raise _bad(where, f"has the event {event!r}, not one of {', '.join(EVENT_KINDS)} "
                       f"with a version string")
        (kind, text), = event.items()
        if kind == "limit":
            limits.append(None if "*" in text else _version(parse, text, where))
        elif kind == "introduced" and text == "0":
            steps.append((kind, None))
        else:
            steps.append((kind, _version(parse, text, where)))
    steps.sort(key=lambda step: (0,) if step[1] is None else (1, step[1]))
    return tuple(steps), tuple(limits)


def _affects(steps, limits, version):
    if limits and not any(limit is None or version < limit for limit in limits):
        return False
    affected = False
    for kind, at in steps:
        if kind == "introduced" and (at is None or version >= at):
            affected = True
        elif kind == "fixed" and version >= at:
            affected = False
        elif kind == "last_affected" and version > at:
            affected = False
    return affected


def _grouped(opened):
    """One Finding per set of records linked by a shared CVE id, in first-seen order."""
    groups = []
    for item in opened:
        linked = [g for g in groups if set(g["cves"]) & set(item.cves)]
        group = {"items": [item], "cves": list(item.cves)}
        for other in linked:
            groups.remove(other)
            group["items"] = other["items"] + group["items"]
            group["cves"] = other["cves"] + group["cves"]
        groups.append(group)
    return [_finding(g["items"]) for g in groups]


def _finding(items):
    # an advisory (DSA, RHSA) first: it names the fix; a CVE record holds the triage
    items = sorted(items, key=lambda i: (i.id.startswith(("DEBIAN-CVE-", "UBUNTU-CVE-", "CVE-")),
                                         i.id))
    fixes = [i.fixed for i in items if i.fixed is not None]
    rated = next((i.triage for i in items if i.triage.rating or i.triage.status),
                 triage.Triage())
    summary = next((i.summary for i in items if i.summary), "")
    return Finding(items[0].id, tuple(dict.fromkeys(i.id for i in items)),
                   tuple(dict.fromkeys(c for i in items for c in i.cves)), summary,
                   str(min(fixes)) if fixes else None, rated, items[0].where)


def _cves(record, entry):
    ids = [record.get("id", entry.id)] + _strings(record, "aliases", entry) + \
        _strings(record, "upstream", entry)
    return tuple(dict.fromkeys(i for i in ids if i.startswith("CVE-")))


def _summary(record):
    text = record.get("summary") or record.get("details") or ""
    return text.strip().splitlines()[0] if isinstance(text, str) and text.strip() else ""


def _version(parse, text, where):
    try:
        return parse(text)
    except ValueError as err:
        raise _bad(where, f"has a version its ecosystem's order cannot read: {err}") from None


def _list(raw, field, entry):
    value = raw.get(field, [])
    if not isinstance(value, list):
        raise _bad(entry.where, f"has a '{field}' that is not a list")
    return value


def _strings(raw, field, entry):
    value = _list(raw, field, entry)
    if not all(isinstance(item, str) for item in value):
        raise _bad(entry.where, f"has a '{field}' that is not a list of strings")
    return value


def _bad(where, problem, fix=f"correct it as {SCHEMA} describes or remove it"):
    return OsvError(f"OSV record {where} {problem}; {fix}")
