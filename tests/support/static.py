"""The static run beside a full run: each control's template-check verdict from both.

    declared_verdicts(report) == static_verdicts(template_path, tmp_path)
"""

import json
from pathlib import Path

from scripts import check_templates


def declared_verdicts(report):
    """{control: verdict of its template (declared) check} in a full run's document."""
    return {c["id"]: check["verdict"] for c in report["controls"] for check in c["checks"]
            if check["declared"]}


def static_verdicts(template, folder):
    """The same from `make check-templates` on the template (its decided controls only)."""
    check_templates.main([str(template), "--report-dir", str(folder),
                          "--source-root", str(Path(template).parent)])
    document = json.loads((folder / template.stem / "controls.json").read_text())
    return {c["id"]: c["checks"][0]["verdict"] for c in document["controls"]
            if not c["checks"][0]["message"].startswith("static run")}
