"""What a run leaves in its report folder, whatever way it ended.

    plant_previous_run(folder)                  # an earlier run's files, each marked STALE
    document = true_report(folder, ("did_not_run",), "does not exist")

A run's folder must hold this run's report and nothing of an earlier run's: the report says why
the run did not run to its end, and the gate never passes such a run.
"""

import json
import xml.etree.ElementTree as ET

STALE = "STALE: written by an earlier run"
EARLIER_FILES = ("controls.json", "report.html", "junit.xml", "checks.xml",
                 "cells/001-hardened-lab/controls.json")
ENDED_EARLY = ("interrupted", "did_not_run")


def plant_previous_run(folder):
    for name in EARLIER_FILES:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(STALE)


def true_report(folder, statuses=ENDED_EARLY, message=""):
    """The run's document, checked: none of the earlier run's files is left; each cell ended
    as one of `statuses`, the first saying `message`; every control it did not decide is
    not_run, and JUnit counts those as errors; the gate failed."""
    left = [name for name in EARLIER_FILES
            if (folder / name).exists() and STALE in (folder / name).read_text()]
    assert not left, f"the earlier run's {left} are still in {folder}"
    document = json.loads((folder / "controls.json").read_text())
    assert {c["status"] for c in document["cells"]} <= set(statuses), document["cells"]
    assert message in document["cells"][0]["message"], document["cells"][0]["message"]
    assert document["gate"]["passed"] is False
    not_run = [c for c in document["controls"] if c["status"] == "not_run"]
    assert not_run or any(c["status"] == "error" for c in document["controls"])
    junit = ET.parse(folder / "junit.xml").getroot()
    assert int(junit.get("errors")) >= len(not_run)
    assert "GATE FAILED" in (folder / "report.html").read_text()
    assert not (folder / ".vmiso.lock").exists(), "the run left its lock file"
    return document
