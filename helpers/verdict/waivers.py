"""Waivers: a known failure accepted until a date, by someone, for a reason.

    waivers = load(Path("waivers.yaml"), known_controls, today=date.today())
    waivers["ESC-04"].active          # False once its expiry date has passed

The file is YAML, a list of entries:

    - control: ESC-04
      reason: the lab hosts run without SELinux until the new image ships
      owner: platform-team
      expires: 2027-03-31

A waiver turns a failed (or drifted) control into `waived` while it is active; from the day
after its expiry the control fails again and the report says the waiver expired. An error is
never waived: a check that could not decide is not a known failure.
"""

import datetime
from dataclasses import dataclass

import yaml


FIELDS = ("control", "reason", "owner", "expires")


class WaiverError(ValueError):
    """The waiver file is unusable; the message names the entry, the problem and the fix."""


@dataclass(frozen=True)
class Waiver:
    control: str
    reason: str
    owner: str
    expires: datetime.date
    active: bool

    def as_dict(self):
        return {"control": self.control, "reason": self.reason, "owner": self.owner,
                "expires": self.expires.isoformat(), "active": self.active}


def describe(waiver):
    """One line for a waiver as the report documents carry it (Waiver.as_dict), whichever
    report shows it: 'waived until 2027-03-31 by team: reason', or 'WAIVER EXPIRED on ...'."""
    state = "waived until" if waiver["active"] else "WAIVER EXPIRED on"
    return f"{state} {waiver['expires']} by {waiver['owner']}: {waiver['reason']}"


def load(path, known_controls, today):
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as err:
        raise WaiverError(f"waiver file {path} cannot be read ({err.strerror}); pass an "
                          f"existing YAML file") from None
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        raise WaiverError(f"waiver file {path} is not valid YAML{line}; fix it or drop "
                          f"the waivers") from None
    except ValueError as err:  # YAML reads 2026-13-45 as a date, which cannot be made
        raise WaiverError(f"waiver file {path} names a date that does not exist ({err}); "
                          f"write expires as a real YYYY-MM-DD") from None
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise WaiverError(f"waiver file {path} must be a list of entries with "
                          f"{', '.join(FIELDS)}")
    waivers = {}
    for index, entry in enumerate(raw, start=1):
        waiver = _entry(path, index, entry, known_controls, today)
        if waiver.control in waivers:
            raise WaiverError(f"waiver file {path}, entry {index}: {waiver.control} is waived "
                              f"twice; keep one entry per control")
        waivers[waiver.control] = waiver
    return waivers


def _entry(path, index, entry, known_controls, today):
    where = f"waiver file {path}, entry {index}"
    if not isinstance(entry, dict):
        raise WaiverError(f"{where} is not a mapping of {', '.join(FIELDS)}")
    missing = [f for f in FIELDS if entry.get(f) in (None, "")]
    if missing:
        raise WaiverError(f"{where} lacks {', '.join(missing)}; every waiver needs "
                          f"{', '.join(FIELDS)}")
    control = str(entry["control"])
    if control not in known_controls:
        raise WaiverError(f"{where}: no control {control!r} in the catalog")
    expires = entry["expires"]
    if isinstance(expires, str):
        try:
            expires = datetime.date.fromisoformat(expires)
        except ValueError:
            expires = None
    if not isinstance(expires, datetime.date) or isinstance(expires, datetime.datetime):
        raise WaiverError(f"{where}: expires {entry['expires']!r} is not a date; write "
                          f"YYYY-MM-DD")
    return Waiver(control, str(entry["reason"]), str(entry["owner"]), expires,
                  active=today <= expires)
