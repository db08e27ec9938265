"""A feed's zip read in place: zipfile reads its directory once, and members are inflated
straight from the file, their CRC checked (half of zipfile.read's time over tens of thousands of
small members), a chunk ahead in a thread of its own.

    members = directory(Path("Debian-all.zip"))      # [Member(name='DSA-5555-1.json', ...)]
    for member, data in Archive(Path("Debian-all.zip")).inflated(members):
        ...
"""

import concurrent.futures
import struct
import zipfile
import zlib
from dataclasses import dataclass

LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, then the name and extra field lengths
# (APPNOTE 4.3.7)
# Ids of databases that never name a distribution's packages: the global zip's members of
# language ecosystems are skipped by name, unread (most of its size).
FOREIGN_PREFIXES = ("GHSA-", "PYSEC-", "GO-", "RUSTSEC-", "MAL-", "OSV-", "BIT-", "HSEC-",
                    "RSEC-", "GSD-", "PSF-", "CURL-", "JLSEC-", "CGA-", "MINI-", "ECHO-")
METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


class ZipFeedError(ValueError):
    """The zip cannot be read; the message names it and the fix."""


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    offset: int  # of its local header
    size: int  # compressed
    method: int
    crc: int


def directory(path):
    """The record members of a zip (*.json, foreign databases left out)."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError) as err:
        raise ZipFeedError(f"OSV zip {path} cannot be read ({err}); download it again "
                           f"(vmiso osv-update)") from None
    members = []
    for info in infos:
        if not info.filename.endswith(".json") or \
                info.filename.rpartition("/")[2].startswith(FOREIGN_PREFIXES):
            continue
        if info.compress_type not in METHODS or info.flag_bits & 0x1:
            raise ZipFeedError(f"OSV zip {path}: member {info.filename} is encrypted or "
                               f"compressed other than with deflate; repack it with zip -r")
        members.append(Member(info.filename, info.header_offset, info.compress_size,
                              info.compress_type, info.CRC))
    return members


class Archive:
    def __init__(self, path):
        self.path = path

    def inflated(self, members, chunk=512):
        """(member, data) of each member, inflated a chunk ahead in another thread: zlib lets
        go of the GIL, so inflating and indexing share the machine's cores."""
        chunks = [members[n:n + chunk] for n in range(0, len(members), chunk)]
        with open(self.path, "rb") as file, concurrent.futures.ThreadPoolExecutor(1) as pool:
            pending = None
            for part in chunks + [None]:
                ready = pending.result() if pending else []
                pending = pool.submit(self._read_all, file, part) if part else None
                yield from ready

    def _read_all(self, file, members):
        return [(member, self._read(file, member)) for member in members]

    def _read(self, file, member):
        try:
            file.seek(member.offset)
            signature, name_length, extra_length = LOCAL_HEADER.unpack(file.read(30))
            raw = file.read(name_length + extra_length + member.size)[name_length +
                                                                       extra_length:]
            data = zlib.decompress(raw, -15) if member.method == zipfile.ZIP_DEFLATED else raw
        except (OSError, struct.error, zlib.error):
            signature, data = b"", b""
        if signature != b"PK\x03\x04" or zlib.crc32(data) != member.crc:
            raise ZipFeedError(f"OSV zip {self.path}: member {member.name} is damaged or the "
                               f"zip changed while it was read; download the feed again "
                               f"(vmiso osv-update)")
        return data
