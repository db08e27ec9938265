"""Debian package versions compared exactly as dpkg compares them.

A version is [epoch:]upstream[-revision]. Upstream and revision are compared in turns of a
non-digit run (character by character: '~' first, even before the end of the string, then the
end, then letters, then everything else) and a digit run (as a number). See deb-version(5) and
dpkg's lib/dpkg/version.c.

    >>> compare("1:7.2+dfsg-7+deb12u18", "1:7.2+dfsg-7+deb12u2")
    1
    >>> DebVersion.parse("1.0~rc1") < DebVersion.parse("1.0")
    True
"""

import functools
import re
from dataclasses import dataclass
from functools import total_ordering
from itertools import zip_longest

EPOCH_MAX = 2**31 - 1  # dpkg keeps the epoch in an int
RUN = re.compile(r"([^0-9]*)([0-9]*)")


@total_ordering
@dataclass(frozen=True, eq=False)
class DebVersion:
    epoch: int
    upstream: str
    revision: str

    @classmethod
    def parse(cls, text):
        """Split a version as dpkg's parseversion() does; raise ValueError where dpkg reports an
        error. What dpkg only warns about (an upstream not starting with a digit, an odd
        character) is accepted."""
        version = str(text).strip()
        if not version:
            raise ValueError(f"{text!r} is not a Debian version: it is empty")
        if any(c.isspace() for c in version):
            raise ValueError(f"{text!r} is not a Debian version: it has embedded spaces")
        epoch = 0
        if ":" in version:
            head, version = version.split(":", 1)
            if not re.fullmatch(r"[0-9]+", head) or int(head) > EPOCH_MAX:
                raise ValueError(f"{text!r} is not a Debian version: the epoch {head!r} is not "
                                 f"a number from 0 to {EPOCH_MAX}")
            if not version:
                raise ValueError(f"{text!r} is not a Debian version: nothing after the colon")
            epoch = int(head)
        upstream, hyphen, revision = version.rpartition("-")
        if not hyphen:
            upstream, revision = version, ""
        elif not revision:
            raise ValueError(f"{text!r} is not a Debian version: the revision after '-' is empty")
        if not upstream:
            raise ValueError(f"{text!r} is not a Debian version: the upstream version is empty")
        return cls(epoch, upstream, revision)

    @functools.cached_property
    def runs(self):
        """The (non-digits, number) runs of upstream and revision, computed once: a version
        is compared with hundreds of others when a feed is asked about it."""
        return _runs(self.upstream), _runs(self.revision)

    def __lt__(self, other):
        return _compare_parsed(self, other) < 0

    def __eq__(self, other):
        if not isinstance(other, DebVersion):
            return NotImplemented
        return _compare_parsed(self, other) == 0

    def __hash__(self):
        return hash((self.epoch, self.runs))

    def __str__(self):
        epoch = f"{self.epoch}:" if self.epoch else ""
        revision = f"-{self.revision}" if self.revision else ""
        return f"{epoch}{self.upstream}{revision}"


def compare(a, b):
    """-1, 0 or 1 as the version a sorts before, with or after b (each a str or DebVersion)."""
    return _compare_parsed(_parsed(a), _parsed(b))


def _parsed(version):
    return version if isinstance(version, DebVersion) else DebVersion.parse(version)


def _compare_parsed(a, b):
    if a.epoch != b.epoch:
        return -1 if a.epoch < b.epoch else 1
    (upstream_a, revision_a), (upstream_b, revision_b) = a.runs, b.runs
    return _compare_runs(upstream_a, upstream_b) or _compare_runs(revision_a, revision_b)


def _runs(part):
    """(non-digits, number) pairs; trailing ("", 0) pairs are what a missing part compares as,
    so they are dropped: "1.0" and "1.00-0" give the same runs."""
    runs = [(letters, int(digits or 0)) for letters, digits in RUN.findall(part)]
    while runs and runs[-1] == ("", 0):
        runs.pop()
    return tuple(runs)


def _compare_runs(a, b):
    if a == b:
        return 0
    for (letters_a, number_a), (letters_b, number_b) in zip_longest(a, b, fillvalue=("", 0)):
        if letters_a != letters_b:
            return _compare_letters(letters_a, letters_b)
        if number_a != number_b:
            return -1 if number_a < number_b else 1
    return 0


def _compare_letters(a, b):
    for char_a, char_b in zip_longest(a, b, fillvalue=""):
        if _order(char_a) != _order(char_b):
            return -1 if _order(char_a) < _order(char_b) else 1
    return 0


def _order(char):
    """dpkg's order(): '~' before the end of the run, the end before letters, letters before
    the other characters."""
    if char == "~":
        return -1
    if not char:
        return 0
    if char.isascii() and char.isalpha():
        return ord(char)
    return ord(char) + 256
