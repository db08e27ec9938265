"""Evidence: what a check looked at, what it saw and what it expected, kept with its verdict.
from helpers.verdict.undecided import Undecided

    def test_no_fdc_at_port_3f4(guest, evidence):
        value = probes.read_io_port(guest, 0x3F4)
        evidence.check("FDC main status register, I/O port 0x3f4", observed=value,
                       expected="ff (no controller)", ok=value == "ff")
"""

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Entry:
    vantage: str  # outside or inside
    what: str
    observed: str
    expected: str
    ok: bool

    def line(self):
        return f"{self.what}: observed {self.observed}; expected {self.expected}"

    def as_dict(self):
        return asdict(self)


class Evidence:
    """The evidence a check collects; handed to checks as the `evidence` fixture."""

    def __init__(self, vantage):
        self.vantage = vantage
        self.entries = []
        self.mitigated_by = None

    def check(self, what, observed, expected, ok):
        """Record an observation and fail the check when it is not what the control requires."""
        __tracebackhide__ = True
        entry = Entry(self.vantage, what, _text(observed), _text(expected), bool(ok))
        self.entries.append(entry)
        if not ok:
            raise AssertionError(entry.line())

    def record(self, what, observed, expected, ok):
        """Record one of several observations judged together: the check fails afterwards, on
        the list of those not ok (expect_none), so every one of them is in the evidence."""
        self.entries.append(Entry(self.vantage, what, _text(observed), _text(expected), bool(ok)))

    def expect_none(self, what, found):
        """Record a list of findings that must be empty (devices, channels, leaks...)."""
        __tracebackhide__ = True
        self.check(what, found, "none", not found)

    def note(self, what, observed, expected):
        """Record a precondition that was verified where it was measured (e.g. a positive twin
        that raises Undecided, an error verdict, when it does not hold)."""
        self.entries.append(Entry(self.vantage, what, _text(observed), _text(expected), True))

    def mitigated(self, what, observed, expected):
        """Record a vulnerable finding whose attack surface is absent: the check passes as such."""
        self.entries.append(Entry(self.vantage, what, _text(observed), _text(expected), True))
        self.mitigated_by = what


def _text(value):
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(sorted(str(v) for v in value)) if value else "none"
    return str(value)
