"""Merging cells: the shards of a run merge into the document of the whole run, whatever the
split; hosts that share a name are told apart by URI; a missing or repeated shard is refused."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.output import document, merge
from helpers.verdict import catalog, verdicts

CATALOG = catalog.load()
IDS = sorted(CATALOG)[:6]
STATUSES = (verdicts.PASS, verdicts.FAIL, verdicts.ERROR, verdicts.NOT_APPLICABLE)
TEMPLATES = ("hardened", "leaky", "winserver")
HOSTS = ("kvm1", "kvm2")


def row(cid, status):
    entry = CATALOG[cid]
    return {"id": cid, "title": entry.title, "risk": entry.risk, "severity": entry.severity,
            "status": status, "references": list(entry.references),
            "remediation": entry.remediation, "duration_s": 0.5, "evidence": [],
            "checks": [{"check": f"suites/x.py::{cid}", "vantage": "outside", "declared": False,
                        "verdict": status, "message": "", "duration_s": 0.5}]}


def cell(host, template, statuses, name=None, started=1795660000.0):
    """One cell's document; `name` the host's name where it is not `host` ("": unreached)."""
    facts = {"name": host if name is None else name or None,
             "uri": f"qemu+ssh://root@{host}/system", "kernel": "6.1", "qemu": "7.2",
             "libvirt": "9.0", "accelerator": "kvm"}
    return document.build([row(cid, s) for cid, s in zip(IDS, statuses)],
                          {"host": facts, "template": f"/t/{template}.xml",
                           "template_file": {"path": f"/t/{template}.xml", "sha256": None},
                           "given_uri": facts["uri"], "probe_seed": 7},
                          started, started + 30)


cells = st.lists(st.sampled_from(STATUSES), min_size=len(IDS), max_size=len(IDS))
matrices = st.fixed_dictionaries({(h, t): cells for h in HOSTS for t in TEMPLATES})


def verdict_table(doc):
    return {(c["host"], c["template"], c["id"]): c["status"] for c in doc["controls"]}


@given(matrices, st.integers(1, 6))
def test_shards_merge_into_the_whole_runs_document(matrix, shards):
    singles = [cell(h, t, s) for (h, t), s in sorted(matrix.items())]
    whole = merge.merge(singles, "any")
    parts = [merge.merge(singles[k::shards], "any") for k in range(shards)]
    for k, part in enumerate(parts):
        part["shard"] = f"{k + 1}/{shards}"
    merged = merge.merge(parts, "any")
    document.validate(merged)
    assert verdict_table(merged) == verdict_table(whole) == {
        (h, t, cid): s for (h, t), statuses in matrix.items() for cid, s in zip(IDS, statuses)}
    assert merged["gate"] == whole["gate"]
    assert merged["controls"] == whole["controls"]
    assert merged["summary"]["total"] == len(HOSTS) * len(TEMPLATES) * len(IDS)
    assert [h["name"] for h in merged["hosts"]] == list(HOSTS)
    assert [t["name"] for t in merged["templates"]] == sorted(TEMPLATES)
    assert "shard" not in merged


def test_hosts_that_share_a_name_are_told_apart_by_uri():
    merged = merge.merge([cell("10.0.0.1", "hardened", ["pass"] * 6, name="kvm"),
                          cell("10.0.0.2", "hardened", ["fail"] * 6, name="kvm")], "any")
    assert {c["host"] for c in merged["controls"]} == {"qemu+ssh://root@10.0.0.1/system",
                                                        "qemu+ssh://root@10.0.0.2/system"}
    assert [c["host"] for c in merged["cells"]] == ["qemu+ssh://root@10.0.0.1/system",
                                                    "qemu+ssh://root@10.0.0.2/system"]


def test_one_template_keeps_its_file_at_the_top_and_several_do_not():
    one = merge.merge([cell("kvm1", "hardened", ["pass"] * 6),
                       cell("kvm2", "hardened", ["pass"] * 6)], "any")
    assert one["template"]["path"] == "/t/hardened.xml"
    several = merge.merge([cell("kvm1", "hardened", ["pass"] * 6),
                           cell("kvm1", "leaky", ["pass"] * 6)], "any")
    assert several["template"] == {"path": None, "sha256": None}
    assert several["host"]["name"] == "kvm1"


def shard(doc, label):
    return dict(doc, shard=label)


@pytest.mark.parametrize("labels, problem", [
    (["1/3", "3/3"], "shard 2/3 missing"),
    (["1/2", "1/2"], "a shard is given twice"),
    (["1/2", "2/3"], "shards of different splits"),
])
def test_an_incomplete_or_repeated_set_of_shards_is_refused(labels, problem):
    docs = [shard(cell("kvm1", t, ["pass"] * 6), label)
            for t, label in zip(("hardened", "hardened" if labels[0] == labels[1] else "leaky"),
                                labels)]
    with pytest.raises(merge.MergeError, match=problem):
        merge.merge(docs, "any")


def test_a_cell_given_twice_is_refused():
    with pytest.raises(merge.MergeError, match="template hardened on kvm1 is in two reports"):
        merge.merge([cell("kvm1", "hardened", ["pass"] * 6)] * 2, "any")


def test_a_broken_cell_is_listed_under_its_hosts_name():
    broken = cell("kvm1", "leaky", ["error"] * 6, name="")  # the cell never reached it
    broken["cells"][0]["status"] = "broken"
    assert broken["cells"][0]["host"] == "qemu+ssh://root@kvm1/system"
    merged = merge.merge([broken, cell("kvm1", "hardened", ["pass"] * 6)], "any")
    assert {c["host"] for c in merged["controls"]} == {"kvm1"}
    assert [h["name"] for h in merged["hosts"]] == ["kvm1"]
