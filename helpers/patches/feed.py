"""An OSV feed as users download it, read in place: a folder of records (each *.json file one
record or a list of them, any *.zip in it read too), an ecosystem's zip (osv.dev's
Debian/all.zip) or the global all.zip.

    feed = Feed.open(Path("Debian-all.zip"), index_cache=Path(".cache/osv-index"))
    feed.facts("Debian:12", "qemu")        # what each record says of qemu in Debian:12
    feed.date                              # the newest record's `modified`

Opening reads every record once and keeps, per (ecosystem, package) it names, only what judges
a build: the ranges, the triage, the CVE ids. The version lists osv.dev enumerates from the
ranges are kept only where a record has no ECOSYSTEM range (they are most of a feed's bytes).
A zip's index is kept in `index_cache` between runs: the next run loads it instead of the zip.
A record without any package (a GIT-only one) is skipped; an id found twice keeps the copy
modified last (identical copies are one).
"""

import datetime
import gc
import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from helpers.patches import triage
from helpers.patches.feedzip import Archive, ZipFeedError, directory

INDEX_FORMAT = "vmiso-osv-index/5"
RANGE_TYPES = ("ECOSYSTEM", "SEMVER", "GIT")
EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")
EVENT_CODES = {kind: code for code, kind in enumerate(EVENT_KINDS)}
SCHEMA = "https://ossf.github.io/osv-schema/"


class FeedError(ValueError):
    """A feed vmiso cannot read; the message names it and the fix."""


class RecordError(FeedError):
    """A record vmiso cannot judge by; raised when a run asks about a package it names."""


@dataclass(frozen=True, slots=True)
class Record:
    """A record as the index keeps it: id, `modified`, where it is, what it says as a whole
    (its CVE ids, summary, whether withdrawn) and, per (ecosystem, package), of each affected
    entry naming it (ranges, versions where no range judges, triage words)."""
    id: str
    modified: str
    where: str
    about: dict  # cves, summary, withdrawn, error
    entries: dict  # "ecosystem\tpackage" -> [[ranges, versions, rating, status, error]]


@dataclass
class Feed:
    path: Path
    files: tuple = ()
    skipped: int = 0  # records naming no package
    duplicates: int = 0  # copies of an id dropped for a newer (or identical) one
    _by_id: dict = field(default_factory=dict)  # id -> the Record kept
    _by_package: dict = field(default_factory=dict)  # "ecosystem\tpackage" -> [Record]

    @classmethod
    def open(cls, path, index_cache=None):
        """The feed at path; `index_cache`: a folder keeping each zip's index between runs."""
        path = Path(path)
        if not path.exists():
            raise FeedError(f"OSV feed {path} does not exist; pass a folder or zip of OSV "
                            f"records with --osv (vmiso osv-update fetches one)")
        files = _feed_files(path)
        if not files:
            raise FeedError(f"OSV folder {path} holds no *.json or *.zip file; pass a folder "
                            f"or zip of OSV records with --osv (vmiso osv-update fetches one)")
        feed = cls(path, tuple(files))
        gc.disable()  # hundreds of thousands of small objects, none of them garbage
        try:
            for file in files:
                for record in _records(file, index_cache):
                    feed._add(record)
            feed._index_packages()
        finally:
            gc.freeze()  # and the run keeps them: no collection need walk them again
            gc.enable()
        return feed

    def __len__(self):
        return len(self._by_id)

    @property
    def ecosystems(self):
        return sorted({key.partition("\t")[0] for key in self._by_package})

    @property
    def date(self):
        """The newest `modified` among the records: how current the feed is (None when no
        record gives one)."""
        stamps = [s for s in (_moment(r.modified) for r in self._by_id.values()) if s]
        return max(stamps) if stamps else None

    def covers(self, ecosystem, package):
        return f"{ecosystem}\t{package}" in self._by_package

    def facts(self, ecosystem, package):
        """(Record, [its affected entries' facts]) for each record naming the package in the
        ecosystem."""
        key = f"{ecosystem}\t{package}"
        return [(record, record.entries[key]) for record in self._by_package.get(key, ())]

    def _add(self, record):
        if not record.entries:
            self.skipped += 1
            return
        kept = self._by_id.get(record.id)
        if kept is not None:
            self.duplicates += 1
            if not _newer(record, kept):
                return
        self._by_id[record.id] = record

    def _index_packages(self):
        for record in self._by_id.values():
            for key in record.entries:
                self._by_package.setdefault(key, []).append(record)


def _feed_files(path):
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in (".json", ".zip")
                      and p.is_file())
    if path.suffix not in (".json", ".zip"):
        raise FeedError(f"OSV feed {path} is neither a folder, a .zip nor a .json file; pass "
                        f"one of those with --osv")
    return [path]


def _records(file, index_cache):
    if file.suffix == ".zip":
        try:
            yield from _zip_records(file, index_cache)
        except ZipFeedError as err:
            raise FeedError(str(err)) from None
        return
    raw = _parse(_read_file(file), str(file), list_allowed=True)
    if isinstance(raw, dict):
        yield _record(raw, str(file))
        return
    for n, item in enumerate(raw):
        if not isinstance(item, dict):
            raise FeedError(f"OSV file {file}: record {n} is not a JSON object; correct it as "
                            f"{SCHEMA} describes or remove it")
        yield _record(item, f"{file}[{n}]")


def _zip_records(file, index_cache):
    identity = _identity(file)
    kept = _load_index(index_cache, file, identity) if index_cache else None
    if kept is not None:
        for record_id, modified, name, about, entries in kept:
            yield Record(record_id, modified, f"{file}:{name}", about, entries)
        return
    rows = []
    for member, data in Archive(file).inflated(directory(file)):
        record = _record(_parse(data, f"{file}:{member.name}"), f"{file}:{member.name}")
        rows.append((record.id, record.modified, member.name, record.about, record.entries))
        yield record
    if index_cache:
        _save_index(index_cache, file, identity, rows)


def _record(raw, where):
    """The Record of a parsed record: only the facts that judge a build are kept, compact (a
    feed's index holds hundreds of thousands of entries)."""
    record_id = raw.get("id")
    if not isinstance(record_id, str) or not record_id:
        raise FeedError(f"OSV record {where} has no 'id' string; correct it as "
                        f"{SCHEMA} describes or remove it")
    entries = {}
    affected = raw.get("affected")
    for n, entry in enumerate(affected if isinstance(affected, list) else ()):
        package = entry.get("package") if isinstance(entry, dict) else None
        if not isinstance(package, dict):
            continue
        ecosystem, name = package.get("ecosystem"), package.get("name")
        if isinstance(ecosystem, str) and isinstance(name, str):
            entries.setdefault(f"{ecosystem}\t{name}", []).append(
                _entry_facts(raw, entry, where, n))
    modified = raw.get("modified")
    return Record(record_id, modified if isinstance(modified, str) else "", where,
                  _about(raw, where), entries)


def _about(raw, where):
    """{cves, summary, withdrawn, error}: what a finding says of the record as a whole."""
    about = {}
    try:
        ids = [raw["id"]] + _strings(raw, "aliases", where) + _strings(raw, "upstream", where)
        about["cves"] = list(dict.fromkeys(i for i in ids if i.startswith("CVE-")))
    except RecordError as err:
        about["error"] = str(err)
    summary = raw.get("summary") or raw.get("details")
    if isinstance(summary, str) and summary.strip():
        about["summary"] = summary.strip().splitlines()[0][:200]
    if "withdrawn" in raw:
        about["withdrawn"] = True
    return about


def _entry_facts(raw, entry, where, n):
    """[ranges, versions, rating, status, error] of an affected entry: each ECOSYSTEM range as
    a flat [kind, version, kind, version, ...] list, the kind an index into EVENT_KINDS and
    introduced "0" as None (GIT ranges dropped: their events are commits); the version list
    where no ECOSYSTEM range judges; the distribution's triage; and what makes the entry
    unusable (raised when a run asks about its package)."""
    rating = triage.read(raw, entry)
    place = f"{where} affected[{n}]"
    try:
        ranges = []
        for i, item in enumerate(_list(entry, "ranges", place)):
            try:
                flat = _range(item)
            except Unusable as err:
                raise _bad(f"{place} ranges[{i}]", *err.args) from None
            if flat:
                ranges.append(flat)
        versions = None if ranges else _strings(entry, "versions", place)
        return [ranges, versions, rating.rating, rating.status, None]
    except RecordError as err:
        return [[], None, rating.rating, rating.status, str(err)]


class Unusable(Exception):
    """(problem, fix) of a range, before its place is known."""


def _range(raw):
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind == "GIT":
        return None
    if kind != "ECOSYSTEM":
        if kind in RANGE_TYPES:
            raise Unusable(f"has a {kind} range in a distribution's ecosystem",
                           "give it as an ECOSYSTEM range")
        raise Unusable(f"has no 'type' of {', '.join(RANGE_TYPES)}")
    events = raw.get("events")
    flat = []
    for event in events if isinstance(events, list) else ():
        if type(event) is not dict or len(event) != 1:
            raise Unusable(_event_problem(event))
        (kind, text), = event.items()
        code = EVENT_CODES.get(kind)
        if code is None or type(text) is not str:
            raise Unusable(_event_problem(event))
        flat += (code, None if code == 0 and text == "0" else text)
    if 0 not in flat[::2]:
        raise Unusable("has no 'introduced' event")
    return flat


def _event_problem(event):
    return f"has the event {event!r}, not one of {', '.join(EVENT_KINDS)} with a version string"


def _list(raw, field, where):
    value = raw.get(field, [])
    if not isinstance(value, list):
        raise _bad(where, f"has a '{field}' that is not a list")
    return value


def _strings(raw, field, where):
    value = _list(raw, field, where)
    if not all(isinstance(item, str) for item in value):
        raise _bad(where, f"has a '{field}' that is not a list of strings")
    return value


def _bad(where, problem, fix=f"correct it as {SCHEMA} describes or remove it"):
    return RecordError(f"OSV record {where} {problem}; {fix}")


def _parse(data, where, list_allowed=False):
    try:
        raw = orjson.loads(data)
    except orjson.JSONDecodeError as err:
        raise FeedError(f"OSV file {where} is not valid JSON ({err}); fix the file or fetch "
                        f"the feed again (vmiso osv-update)") from None
    if not isinstance(raw, dict) and not (list_allowed and isinstance(raw, list)):
        raise FeedError(f"OSV file {where} holds no record object; correct it as "
                        f"https://ossf.github.io/osv-schema/ describes or remove it")
    return raw


def _read_file(path):
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise FeedError(f"OSV file {path} cannot be read ({err.strerror}); fix its "
                        f"permissions or remove it") from None


def _identity(file):
    """The file's device, inode, size and mtime: a feed renamed into place (make osv-update)
    keeps its index, a feed replaced gets a new one."""
    stat = file.stat()
    return [stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns]


def _index_path(index_cache, file):
    stat = file.stat()
    name = hashlib.sha256(f"{stat.st_dev}:{stat.st_ino}".encode()).hexdigest()[:32]
    return Path(index_cache) / f"{name}.json"


def _load_index(index_cache, file, identity):
    try:
        index = orjson.loads(_index_path(index_cache, file).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(index, dict) or index.get("format") != INDEX_FORMAT or \
            index.get("feed") != identity:
        return None
    return index["records"]


def _save_index(index_cache, file, identity, rows):
    """Written whole or not at all; a cache that cannot be written is no error."""
    temporary = None
    try:
        Path(index_cache).mkdir(parents=True, exist_ok=True)
        data = orjson.dumps({"format": INDEX_FORMAT, "feed": identity, "records": rows})
        with tempfile.NamedTemporaryFile(dir=index_cache, delete=False) as temporary:
            temporary.write(data)
        os.replace(temporary.name, _index_path(index_cache, file))
    except OSError:
        if temporary is not None:
            Path(temporary.name).unlink(missing_ok=True)


def _newer(record, kept):
    a, b = _moment(record.modified), _moment(kept.modified)
    return a is not None and (b is None or a > b)


def _moment(text):
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)
