"""Vulnerability records in the OSV format (https://ossf.github.io/osv-schema/): which of them
leave an installed build of a package open.

    >>> db = load("osv/debian-12")
    >>> db.covers(["Debian:12"], ["qemu"])
    True
    >>> [f.id for f in db.open_for(["Debian:12"], ["qemu"], "1:7.2+dfsg-7")]
    ['DEBIAN-CVE-2023-2861', 'DEBIAN-CVE-2023-3180']

Records that name the same CVE (a DSA or DLA and the DEBIAN-CVE records it lists in `upstream`
or `aliases`) are one finding. Only the entries of the asked packages are compiled, once a run:
their range events parsed in the ecosystem's version order (helpers/patches/order.py).
"""

import gc
from dataclasses import dataclass

from helpers.patches import triage
from helpers.patches.feed import EVENT_KINDS, SCHEMA, Feed, FeedError
from helpers.patches.order import version_parser

OsvError = FeedError


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
    def label(self):
        others = [i for i in dict.fromkeys(self.ids[1:] + self.cves) if i != self.id]
        return f"{self.id} ({', '.join(others)})" if others else self.id


class Database:
    """The records of an OSV feed, asked by ecosystem, package and installed version."""

    def __init__(self, feed):
        self.feed = feed
        self.folder = feed.path
        self._compiled = {}  # (ecosystem, package) -> [_Compiled]

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
                for record in self._records(ecosystem, package, parse):
                    if record.id not in opened and record.affects(version, installed):
                        opened[record.id] = _Open(record.id, record.cves, record.summary,
                                                  record.fixed_above(installed), record.triage,
                                                  record.where)
        return _grouped(list(opened.values()))

    def _records(self, ecosystem, package, parse):
        """The package's records in the ecosystem, their entries for it parsed once for the
        run (the host's and the guest's kernel ask twice)."""
        key = (ecosystem, package)
        if key not in self._compiled:
            compiled = (_compile(record, entries, parse)
                        for record, entries in self.feed.facts(ecosystem, package))
            gc.disable()
            try:
                self._compiled[key] = [c for c in compiled if c is not None]
            finally:
                gc.enable()
        return self._compiled[key]


def load(path, index_cache=None):
    """The records of an OSV folder or zip (a zip's index kept in index_cache between runs);
    OsvError names the problem."""
    return Database(Feed.open(path, index_cache))


@dataclass(frozen=True, slots=True)
class _Compiled:
    """What a record says of one package in one ecosystem: its ranges parsed, its listed
    versions as one string (a set of them for every kernel record would take 100 MiB)."""
    id: str
    where: str
    cves: tuple
    summary: str
    triage: triage.Triage
    ranges: tuple  # (steps, limits) in version order
    listed: str  # "\n1.0-1\n1.0-2\n": versions listed where no range judges

    def affects(self, text, installed):
        return f"\n{text}\n" in self.listed or any(_affects(steps, limits, installed)
                                                   for steps, limits in self.ranges)

    def fixed_above(self, installed):
        fixes = [at for steps, _ in self.ranges for kind, at in steps
                 if kind == "fixed" and at > installed]
        return min(fixes) if fixes else None


@dataclass(frozen=True)
class _Open:
    id: str
    cves: tuple
    summary: str
    fixed: object  # the parsed first fix above the installed version, or None
    triage: triage.Triage
    where: str


def _compile(record, entries, parse):
    """A record's entries for one package, compiled; None for a withdrawn record."""
    about = record.about
    if about.get("withdrawn"):
        return None
    ranges, listed = [], []
    for flat_ranges, versions, _, _, error in entries:
        if error or about.get("error"):
            raise OsvError(error or about["error"])
        ranges += [_range(flat, record.where, parse) for flat in flat_ranges]
        listed.append("\n".join(versions or ()))
    _, _, rating, status, _ = entries[0]
    return _Compiled(record.id, record.where, tuple(about.get("cves", ())),
                     about.get("summary", ""), triage.Triage(rating, status), tuple(ranges),
                     "\n" + "\n".join(listed) + "\n")


def _range(flat, where, parse):
    """(steps, limits) of a range's events in version order."""
    steps, limits = [], []
    for code, text in zip(flat[::2], flat[1::2]):
        kind = EVENT_KINDS[code]
        if kind == "limit":
            limits.append(None if "*" in text else _version(parse, text, where))
        elif text is None:
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
    parent = list(range(len(opened)))

    def root(n):
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    first_with = {}
    for n, item in enumerate(opened):
        for cve in item.cves:
            other = first_with.setdefault(cve, n)
            parent[root(n)] = root(other)
    groups = {}
    for n, item in enumerate(opened):
        groups.setdefault(root(n), []).append(item)
    return [_finding(items) for items in groups.values()]


def _finding(items):
    if len(items) == 1:
        item = items[0]
        return Finding(item.id, (item.id,), item.cves, item.summary,
                       None if item.fixed is None else str(item.fixed), item.triage, item.where)
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


def _version(parse, text, where):
    try:
        return parse(text)
    except ValueError as err:
        raise OsvError(f"OSV record {where} has a version its ecosystem's order cannot read: "
                       f"{err}; correct it as {SCHEMA} describes or remove it") from None
