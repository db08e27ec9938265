"""The distribution's own triage of a vulnerability, and the policy that judges unfixed ones.

Each distribution rates a CVE and decides whether to fix it in a release:
- Debian: the urgency (`unimportant`, `low`, `medium`, `high`, `not yet assigned`) and, for a
  release without a fix, `no-dsa`, `postponed` or `ignored`;
- Ubuntu: the priority (`negligible`, `low`, `medium`, `high`, `critical`) and statuses such
  as `deferred` or `ignored`;
- Red Hat, Rocky Linux, AlmaLinux: the severity (`Low`, `Moderate`, `Important`, `Critical`)
  and `Will not fix`, `Fix deferred` or `Out of support scope`.
OSV records carry them in the affected entry's `ecosystem_specific` (urgency, priority,
severity, status, nodsa_reason), the record's or entry's `database_specific` (severity,
status) and the record's `severity` scores that are words rather than CVSS vectors.

    triage = read(record, affected_entry)      # Triage(rating='unimportant', status=None)
    policy = TriagePolicy()                    # or the policy file's [patches] table
    policy.accepts(triage)                     # 'rated unimportant'
"""

import datetime
import functools
from dataclasses import dataclass

RATING_FIELDS = ("urgency", "priority", "severity")
STATUS_FIELDS = ("status", "nodsa_reason", "nodsa")
TRIAGE_KEYS = frozenset(RATING_FIELDS + STATUS_FIELDS)
# The default: what a distribution rates unimportant or chose not to fix is reported, not failed.
ACCEPT_UNFIXED = ("unimportant", "negligible", "no-dsa", "postponed", "ignored", "deferred",
                  "will not fix", "fix deferred", "out of support scope")
FEED_MAX_AGE_DAYS = 7


@dataclass(frozen=True)
class Triage:
    rating: str | None = None  # the distribution's urgency, priority or severity
    status: str | None = None  # its decision for the release: no-dsa, will not fix, ...

    def __str__(self):
        parts = [f"rated {self.rating}" if self.rating else "",
                 f"status {self.status}" if self.status else ""]
        return ", ".join(p for p in parts if p) or "not triaged"


@dataclass(frozen=True)
class TriagePolicy:
    accept_unfixed: frozenset = frozenset(ACCEPT_UNFIXED)
    feed_max_age_days: int = FEED_MAX_AGE_DAYS

    def accepts(self, triage):
        """Why an unfixed finding with this triage does not fail the control, or None."""
        if triage.status in self.accept_unfixed:
            return f"status {triage.status}"
        if triage.rating in self.accept_unfixed:
            return f"rated {triage.rating}"
        return None

    def feed_age_warning(self, date, now=None):
        """A warning when the feed's date is older than the policy allows, else None."""
        if date is None:
            return "the OSV feed gives no record date: its age is unknown"
        now = now or datetime.datetime.now(datetime.timezone.utc)
        age = (now - date).days
        if age > self.feed_max_age_days:
            return (f"the OSV feed is {age} days old (newest record {date:%Y-%m-%d}; the "
                    f"policy allows {self.feed_max_age_days}): refresh it with vmiso osv-update")
        return None


def read(record, affected):
    """The Triage of an affected entry of a record: the first place that gives a rating (and
    a status) wins."""
    rating = status = None
    for place in (affected.get("ecosystem_specific"), affected.get("database_specific"),
                  record.get("database_specific")):
        if isinstance(place, dict) and place.keys() & TRIAGE_KEYS:
            rating = rating or _first(place, RATING_FIELDS)
            status = status or _first(place, STATUS_FIELDS)
    rating = rating or _word_score(record.get("severity"))
    return Triage(word(rating), word(status))


def _first(place, fields):
    for name in fields:
        value = place.get(name)
        if value is True and name == "nodsa":
            return "no-dsa"
        if isinstance(value, str) and value.strip():
            return value
    return None


def _word_score(severities):
    """A severity score that is a word (Ubuntu's priority), not a CVSS vector."""
    for item in severities if isinstance(severities, list) else ():
        score = item.get("score") if isinstance(item, dict) else None
        if isinstance(score, str) and score.isalpha():
            return score
    return None


@functools.lru_cache(maxsize=4096)  # a feed repeats a few words hundreds of thousands of times
def word(text):
    """'<no-dsa>' and 'No-DSA' as 'no-dsa', 'medium**' as 'medium'."""
    return " ".join(text.strip().strip("<>*").lower().split()) or None if text else None
