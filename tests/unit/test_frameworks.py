"""Framework mappings: data beside the catalog, each naming its source, every control it names in
the catalog, and a run's controls grouped under its headings with the worst status first."""

import pytest

from helpers.verdict import catalog, frameworks


@pytest.mark.parametrize("name", frameworks.names())
def test_every_framework_names_its_source_and_only_catalog_controls(name):
    framework = frameworks.load(name)
    assert framework.source and framework.headings
    assert {cid for h in framework.headings for cid in h.controls} <= set(catalog.load())


def test_a_control_the_catalog_lacks_is_refused(tmp_path):
    (tmp_path / "x.toml").write_text('title = "X"\nsource = "s"\n[[heading]]\nid = "A1"\n'
                                     'title = "t"\ncontrols = ["HV-01", "NOPE-9"]\n')
    with pytest.raises(frameworks.FrameworkError, match="NOPE-9 not in the catalog"):
        frameworks.load("x", tmp_path)


def test_a_mapping_without_its_source_is_refused(tmp_path):
    (tmp_path / "x.toml").write_text('title = "X"\n[[heading]]\nid = "A1"\ntitle = "t"\n'
                                     'controls = ["HV-01"]\n')
    with pytest.raises(frameworks.FrameworkError, match="source"):
        frameworks.load("x", tmp_path)


def test_a_heading_takes_the_worst_status_of_its_controls_over_every_cell():
    framework = frameworks.Framework("x", "X", "s", (
        frameworks.Heading("A1", "one", ("HV-01", "ESC-07")),
        frameworks.Heading("A2", "two", ("NET-01",))))
    rows = [{"id": "HV-01", "status": "pass"}, {"id": "ESC-07", "status": "waived"},
            {"id": "HV-01", "status": "error"}, {"id": "DEV-05", "status": "fail"}]
    grouped = framework.group(rows)
    first, second = grouped["headings"]
    assert (first["status"], first["controls"]) == ("error", {"HV-01": "error",
                                                              "ESC-07": "waived"})
    assert (second["status"], second["not_run"]) == ("not_run", ["NET-01"])
    assert grouped["unmapped"] == ["DEV-05"]
