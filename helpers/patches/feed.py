"""An OSV feed as users download it, read in place: a folder of records (each *.json file one
record or a list of them, any *.zip in it read too), an ecosystem's zip (osv.dev's
Debian/all.zip) or the global all.zip.

    feed = Feed.open(Path("Debian-all.zip"))
    feed.records("Debian:12", "qemu")      # the records naming qemu in Debian:12, parsed
    feed.date                              # the newest record's `modified`

Opening indexes every record by the (ecosystem, package) pairs it names, found in its text
without parsing it: a feed holds tens of thousands of records with long version lists, and a
run asks about three packages. A record is parsed when a query names one of its packages.
A record without any package (a GIT-only one) is skipped; an id found twice keeps the copy
modified last (identical copies are one).
"""

import datetime
import json
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = re.compile(rb'"package"\s*:\s*\{([^{}]*)\}')
ECOSYSTEM = re.compile(rb'"ecosystem"\s*:\s*"([^"\\]*)"')
NAME = re.compile(rb'"name"\s*:\s*"([^"\\]*)"')
ID = re.compile(rb'"id"\s*:\s*"([^"\\]*)"')
MODIFIED = re.compile(rb'"modified"\s*:\s*"([^"\\]*)"')
LOCAL_HEADER = struct.Struct("<4s22xHH")  # a zip member's local header: signature, name and
# extra field lengths (APPNOTE 4.3.7)
# Ids of databases that never name a distribution's packages: the global zip's members of
# language ecosystems are skipped by name, unread (most of its size).
FOREIGN_PREFIXES = ("GHSA-", "PYSEC-", "GO-", "RUSTSEC-", "MAL-", "OSV-", "BIT-", "HSEC-",
                    "RSEC-", "GSD-", "PSF-", "CURL-", "JLSEC-", "CGA-", "MINI-", "ECHO-")


class FeedError(ValueError):
    """A feed vmiso cannot read; the message names it and the fix."""


@dataclass(frozen=True)
class Entry:
    """One record of the feed, not yet parsed: its id and `modified` as its text gives them,
    where it is, and how to read it."""
    id: str
    modified: str
    where: str
    source: object  # a _Zip, a Path, or the parsed record of a file holding a list
    member: str = ""  # its name in the zip

    def parse(self):
        if isinstance(self.source, dict):
            return self.source
        data = self.source.read(self.member) if self.member else _read_file(self.source)
        try:
            record = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise FeedError(f"OSV record {self.where} is not valid JSON ({err}); fix the file "
                            f"or fetch the feed again (make osv-update)") from None
        if not isinstance(record, dict):
            raise FeedError(f"OSV record {self.where} is not a JSON object; fix it or remove it")
        return record


@dataclass
class Feed:
    path: Path
    files: tuple = ()
    skipped: int = 0  # records naming no package
    duplicates: int = 0  # copies of an id dropped for a newer (or identical) one
    _by_package: dict = field(default_factory=dict)  # (ecosystem, name) -> [Entry]
    _by_id: dict = field(default_factory=dict)  # id -> the Entry kept

    @classmethod
    def open(cls, path):
        path = Path(path)
        if not path.exists():
            raise FeedError(f"OSV feed {path} does not exist; pass a folder or zip of OSV "
                            f"records with --osv (make osv-update fetches one)")
        files = _feed_files(path)
        if not files:
            raise FeedError(f"OSV folder {path} holds no *.json or *.zip file; pass a folder "
                            f"or zip of OSV records with --osv (make osv-update fetches one)")
        feed = cls(path, tuple(files))
        for file in files:
            for entry, keys in _entries(file):
                feed._add(entry, keys)
        feed._drop_superseded()
        return feed

    def __len__(self):
        return len(self._by_id)

    @property
    def ecosystems(self):
        return sorted({ecosystem for ecosystem, _ in self._by_package})

    @property
    def date(self):
        """The newest `modified` among the records: how current the feed is (None when no
        record gives one)."""
        stamps = [_moment(e.modified) for e in self._by_id.values()]
        stamps = [s for s in stamps if s is not None]
        return max(stamps) if stamps else None

    def covers(self, ecosystem, package):
        return (ecosystem, package) in self._by_package

    def records(self, ecosystem, package):
        """(Entry, record) for each record naming the package in the ecosystem."""
        return [(entry, entry.parse()) for entry in self._by_package.get((ecosystem, package), ())]

    def _add(self, entry, keys):
        if not keys:
            self.skipped += 1
            return
        kept = self._by_id.get(entry.id)
        if kept is not None:
            self.duplicates += 1
            if not _newer(entry, kept):
                return
        self._by_id[entry.id] = entry
        for key in keys:
            self._by_package.setdefault(key, []).append(entry)

    def _drop_superseded(self):
        if not self.duplicates:
            return
        for key, entries in self._by_package.items():
            self._by_package[key] = [e for e in dict.fromkeys(entries)
                                     if self._by_id.get(e.id) is e]


def _feed_files(path):
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in (".json", ".zip")
                      and p.is_file())
    if path.suffix not in (".json", ".zip"):
        raise FeedError(f"OSV feed {path} is neither a folder, a .zip nor a .json file; pass "
                        f"one of those with --osv")
    return [path]


def _entries(file):
    """(Entry, its (ecosystem, package) keys) for each record of a file."""
    if file.suffix == ".zip":
        archive = _Zip.open(file)
        for info in archive.members():
            data = archive.read(info.filename)
            yield _entry(data, f"{file}:{info.filename}", archive, info.filename)
        return
    data = _read_file(file)
    if data.lstrip()[:1] != b"[":
        yield _entry(data, str(file), file)
        return
    try:
        records = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise FeedError(f"OSV file {file} is not valid JSON ({err}); fix the file or remove "
                        f"it from the folder") from None
    for n, record in enumerate(records):
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            raise FeedError(f"OSV file {file}: record {n} has no 'id' string; correct it as "
                            f"https://ossf.github.io/osv-schema/ describes or remove it")
        yield _entry(json.dumps(record).encode(), f"{file}[{n}]", record)


def _entry(data, where, source, member=""):
    """The Entry of a record's text, and the (ecosystem, package) pairs it names."""
    found = ID.search(data)
    if found is None:
        raise FeedError(f"OSV record {where} has no 'id'; correct it as "
                        f"https://ossf.github.io/osv-schema/ describes or remove it")
    modified = MODIFIED.search(data)
    keys = set()
    for body in PACKAGE.findall(data):
        ecosystem, name = ECOSYSTEM.search(body), NAME.search(body)
        if ecosystem and name:
            keys.add((ecosystem.group(1).decode(), name.group(1).decode()))
    entry = Entry(found.group(1).decode(), modified.group(1).decode() if modified else "",
                  where, source, member)
    return entry, keys


def _read_file(path):
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise FeedError(f"OSV file {path} cannot be read ({err.strerror}); fix its "
                        f"permissions or remove it") from None


def _newer(entry, kept):
    a, b = _moment(entry.modified), _moment(kept.modified)
    return a is not None and (b is None or a > b)


def _moment(text):
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


class _Zip:
    """A zip read in place. zipfile reads the directory; members are inflated straight from
    the file, which takes half of zipfile.read's time for the tens of thousands of small
    members of a feed."""

    def __init__(self, path, archive):
        self.path = path
        self.archive = archive
        self.file = open(path, "rb")

    @classmethod
    def open(cls, path):
        try:
            return cls(path, zipfile.ZipFile(path))
        except (zipfile.BadZipFile, OSError) as err:
            raise FeedError(f"OSV zip {path} cannot be read ({err}); download it again "
                            f"(make osv-update)") from None

    def members(self):
        return [info for info in self.archive.infolist()
                if info.filename.endswith(".json") and not info.is_dir()
                and not Path(info.filename).name.startswith(FOREIGN_PREFIXES)]

    def read(self, name):
        info = self.archive.getinfo(name)
        if info.compress_type not in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED) or \
                info.flag_bits & 0x1:
            return self.archive.read(info)
        self.file.seek(info.header_offset)
        signature, name_length, extra_length = LOCAL_HEADER.unpack(self.file.read(30))
        raw = self.file.read(name_length + extra_length + info.compress_size)
        raw = raw[name_length + extra_length:]
        try:
            data = zlib.decompress(raw, -15) if info.compress_type == zipfile.ZIP_DEFLATED \
                else raw
        except zlib.error:
            data = b""
        if signature != b"PK\x03\x04" or zlib.crc32(data) != info.CRC:
            raise FeedError(f"OSV zip {self.path}: member {name} is damaged; download the "
                            f"feed again (make osv-update)")
        return data
