"""The frameworks auditors speak in, as data beside the catalog: each file of catalog/frameworks/
maps a framework's headings (its requirement numbers) to vmiso controls, and says where the
numbers and the mapping come from.

    framework = load("bsi-sys-1-5")
    framework.title       # 'BSI IT-Grundschutz SYS.1.5 Virtualisierung'
    framework.group(rows) # {"name": ..., "headings": [{"id": "SYS.1.5.A3", "status": "fail",
                          #   "controls": {"HV-01": "pass", ...}, ...}], "unmapped": [...]}

A heading's status is the worst of its controls' in the run; "not_run" where none of them ran.
"""

import tomllib
from dataclasses import dataclass
from pathlib import Path

from helpers.verdict import catalog as catalog_mod
from helpers.verdict import verdicts

FRAMEWORKS_DIR = catalog_mod.CATALOG_PATH.parent / "frameworks"
NOT_RUN = verdicts.NOT_RUN  # a heading none of whose controls ran, or a control the run missed
# Worst first, as the report lists statuses.
WORST_FIRST = (verdicts.FAIL, verdicts.DRIFT, verdicts.ERROR, verdicts.NOT_RUN, verdicts.WAIVED,
               verdicts.MITIGATED, verdicts.PASS, verdicts.NOT_APPLICABLE)


class FrameworkError(ValueError):
    """A framework file is malformed or names a control the catalog lacks."""


@dataclass(frozen=True)
class Heading:
    id: str
    title: str
    controls: tuple


@dataclass(frozen=True)
class Framework:
    name: str
    title: str
    source: str
    headings: tuple

    def group(self, rows):
        """The run's control rows under this framework's headings, for the report."""
        by_id = {}
        for row in rows:
            by_id.setdefault(row["id"], []).append(row["status"])
        mapped = {cid for h in self.headings for cid in h.controls}
        return {"name": self.name, "title": self.title, "source": self.source,
                "headings": [_heading(h, by_id) for h in self.headings],
                "unmapped": sorted(cid for cid in by_id if cid not in mapped)}


def names(folder=FRAMEWORKS_DIR):
    """The frameworks --framework accepts."""
    return sorted(p.stem for p in Path(folder).glob("*.toml"))


def load(name, folder=FRAMEWORKS_DIR, controls=None):
    """Framework `name`; every control it names must be in the catalog."""
    path = Path(folder) / f"{name}.toml"
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    known = set(controls if controls is not None else catalog_mod.load())
    headings = []
    for entry in raw.get("heading", []):
        unknown = [cid for cid in entry.get("controls", []) if cid not in known]
        if unknown:
            raise FrameworkError(f"framework {name}, heading {entry.get('id')}: "
                                 f"{', '.join(unknown)} not in the catalog")
        headings.append(Heading(entry["id"], entry["title"], tuple(entry["controls"])))
    if not raw.get("source"):
        raise FrameworkError(f"framework {name} says nowhere where its mapping comes from "
                             f"(source =)")
    return Framework(name, raw["title"], raw["source"].strip(), tuple(headings))


def _heading(heading, by_id):
    statuses = {cid: _worst(by_id[cid]) for cid in heading.controls if cid in by_id}
    return {"id": heading.id, "title": heading.title, "status": _worst(statuses.values()),
            "controls": statuses,
            "not_run": [cid for cid in heading.controls if cid not in by_id]}


def _worst(statuses):
    present = set(statuses)
    return next((s for s in WORST_FIRST if s in present), NOT_RUN)
