"""OSV records read from a folder, and the versions they report open."""

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.patches.debversion import compare
from helpers.patches.osv import OsvError, load

SHIPPED = Path(__file__).resolve().parents[2] / "osv" / "debian-12"
ECOSYSTEM = "Debian:12"

deb_versions = st.builds("{}.{}-{}".format, st.integers(0, 12), st.integers(0, 12),
                     st.sampled_from(["1", "2", "2+deb12u1", "2+deb12u10", "2~bpo1"]))


def osv_record(id="DEBIAN-CVE-TEST-1", package="qemu", ecosystem=ECOSYSTEM, events=None,
               versions=None, **extra):
    affected = {"package": {"ecosystem": ecosystem, "name": package}}
    if events is not None:
        affected["ranges"] = [{"type": "ECOSYSTEM", "events": events}]
    if versions is not None:
        affected["versions"] = versions
    cve = "CVE-" + id.split("CVE-")[-1] if "CVE-" in id else f"CVE-X-{id}"
    return {"id": id, "modified": "2026-01-01T00:00:00Z", "aliases": [cve],
            "summary": "a test flaw", "affected": [affected], **extra}


def write(folder, name, content):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def open_ids(db, version, package="qemu"):
    return [f.id for f in db.open_for([ECOSYSTEM], [package], version)]


def open_for(db, version, package="qemu", ecosystem=ECOSYSTEM):
    return db.open_for([ecosystem], [package], version)


def test_introduced_and_fixed(tmp_path):
    path = write(tmp_path, "qemu.json", osv_record(
        events=[{"introduced": "1:7.0+dfsg-1"}, {"fixed": "1:7.2+dfsg-7+deb12u2"}]))
    db = load(tmp_path)
    assert open_ids(db, "1:6.2+dfsg-1") == []
    (finding,) = open_for(db, "1:7.2+dfsg-7+deb12u1")
    assert (finding.id, finding.cves, finding.summary, finding.fixed, finding.where) == (
        "DEBIAN-CVE-TEST-1", ("CVE-TEST-1",), "a test flaw", "1:7.2+dfsg-7+deb12u2", str(path))
    assert open_ids(db, "1:7.2+dfsg-7+deb12u2") == []
    assert open_ids(db, "1:7.2+dfsg-7+deb12u18") == []


def test_last_affected_is_open_up_to_and_including_it(tmp_path):
    write(tmp_path, "r.json", osv_record(events=[{"introduced": "0"},
                                                 {"last_affected": "9.0.0-4"}]))
    db = load(tmp_path)
    assert [f.fixed for f in open_for(db, "9.0.0-4")] == [None]
    assert open_ids(db, "9.0.0-4+deb12u1") == []


def test_explicit_versions(tmp_path):
    write(tmp_path, "r.json", osv_record(versions=["6.1.27-1", "6.1.37-1"]))
    db = load(tmp_path)
    assert open_ids(db, "6.1.27-1") == ["DEBIAN-CVE-TEST-1"]
    assert open_ids(db, "6.1.037-1") == []  # listed versions match as the strings they are
    assert open_ids(db, "6.1.30-1") == []


def test_multiple_ranges_and_the_next_fix(tmp_path):
    record = osv_record(events=[{"introduced": "1.0"}, {"fixed": "1.5"}])
    record["affected"][0]["ranges"].append(
        {"type": "ECOSYSTEM", "events": [{"introduced": "2.0"}, {"fixed": "2.3"}]})
    write(tmp_path, "r.json", record)
    db = load(tmp_path)
    assert [f.fixed for f in open_for(db, "1.2")] == ["1.5"]
    assert open_ids(db, "1.7") == []
    assert [f.fixed for f in open_for(db, "2.1")] == ["2.3"]
    assert open_ids(db, "2.3") == []


def test_several_intervals_in_one_range_are_sorted_first(tmp_path):
    write(tmp_path, "r.json", osv_record(events=[{"fixed": "3.2.5"}, {"introduced": "3.0.0"},
                                                 {"fixed": "1.0.2"}, {"introduced": "1.0.0"}]))
    db = load(tmp_path)
    assert [v for v in ("0.9", "1.0.0", "1.0.2", "2.0", "3.1", "3.2.5") if open_ids(db, v)] == [
        "1.0.0", "3.1"]


def test_unfixed_is_open_for_every_version(tmp_path):
    write(tmp_path, "r.json", osv_record(events=[{"introduced": "0"}]))
    db = load(tmp_path)
    assert [f.fixed for f in open_for(db, "0~0")] == [None]
    assert open_ids(db, "99:1") == ["DEBIAN-CVE-TEST-1"]


def test_a_limit_bounds_the_range(tmp_path):
    write(tmp_path, "r.json", osv_record(events=[{"introduced": "0"}, {"limit": "2.0"}]))
    db = load(tmp_path)
    assert open_ids(db, "1.9") == ["DEBIAN-CVE-TEST-1"]
    assert open_ids(db, "2.0") == []


def test_other_package_ecosystem_and_withdrawn_records(tmp_path):
    write(tmp_path, "a.json", osv_record(events=[{"introduced": "0"}]))
    write(tmp_path, "b.json", osv_record(id="DEBIAN-CVE-TEST-2", ecosystem="Debian:11",
                                         package="libvirt", events=[{"introduced": "0"}]))
    write(tmp_path, "c.json", osv_record(id="DEBIAN-CVE-TEST-3", package="libvirt",
                                         events=[{"introduced": "0"}],
                                         withdrawn="2026-01-02T00:00:00Z"))
    db = load(tmp_path)
    assert db.covers([ECOSYSTEM], ["qemu"]) and db.covers([ECOSYSTEM], ["libvirt"])
    assert db.covers(["Debian:11"], ["libvirt"]) and not db.covers([ECOSYSTEM], ["linux"])
    assert not db.covers(["Debian"], ["qemu"])  # ecosystems match exactly
    assert open_ids(db, "1.0", package="libvirt") == []
    assert open_ids(db, "1.0", package="linux") == []


def test_lists_of_records_in_nested_folders_are_read(tmp_path):
    write(tmp_path, "x/y/two.json", [osv_record(id="A", events=[{"introduced": "0"}]),
                                     osv_record(id="B", package="linux")])
    write(tmp_path, "one.json", osv_record(id="C", events=[{"introduced": "0"}]))
    write(tmp_path, "notes.txt", "not a record")
    db = load(tmp_path)
    assert len(db) == 3 and len(db.feed.files) == 2
    assert sorted(open_ids(db, "1.0")) == ["A", "C"]


def test_git_ranges_are_ignored(tmp_path):
    record = osv_record()
    record["affected"][0]["ranges"] = [{"type": "GIT", "repo": "https://x/q.git",
                                        "events": [{"introduced": "0"}, {"fixed": "abc123"}]}]
    write(tmp_path, "r.json", record)
    assert open_ids(load(tmp_path), "1.0") == []


def test_other_ecosystems_load_but_cannot_be_asked(tmp_path):
    write(tmp_path, "r.json", osv_record(ecosystem="PyPI", package="jinja2",
                                         events=[{"introduced": "0"}, {"fixed": "2.11.3"}]))
    db = load(tmp_path)
    assert db.covers(["PyPI"], ["jinja2"])
    with pytest.raises(OsvError, match="version order of OSV ecosystem 'PyPI' is not supported"):
        open_for(db, "2.10", "jinja2", "PyPI")


def test_a_malformed_installed_version_is_a_value_error(tmp_path):
    write(tmp_path, "r.json", osv_record(events=[{"introduced": "0"}]))
    with pytest.raises(ValueError, match="not a Debian version"):
        open_for(load(tmp_path), "1:")


def test_missing_folder(tmp_path):
    with pytest.raises(OsvError, match=r"OSV feed .*nowhere does not exist; pass a folder"):
        load(tmp_path / "nowhere")


def test_folder_without_records(tmp_path):
    write(tmp_path, "README.md", "nothing here")
    with pytest.raises(OsvError, match="holds no \\*.json or \\*.zip file"):
        load(tmp_path)


def test_malformed_json_names_the_file(tmp_path):
    path = write(tmp_path, "bad.json", '{"id": "X", "affected": [{"package": {"ecosystem": '
                                       '"Debian:12", "name": "qemu"}}], ')
    with pytest.raises(OsvError) as raised:
        open_for(load(tmp_path), "1.0")
    message = str(raised.value)
    assert str(path) in message and "not valid JSON" in message and "\n" not in message


def without(record, *keys):
    """A copy of record with the field at the path keys removed."""
    record = json.loads(json.dumps(record))
    *parents, last = keys
    node = record
    for key in parents:
        node = node[key]
    del node[last]
    return record


GOOD = osv_record(events=[{"introduced": "0"}, {"fixed": "1.0-1"}])


@pytest.mark.parametrize("raw, problem", [
    (without(GOOD, "affected", 0, "ranges", 0, "type"), "ranges\\[0\\] has no 'type' of"),
    (without(GOOD, "affected", 0, "ranges", 0, "events", 0), "has no 'introduced' event"),
    (osv_record(events=[{"introduced": "0", "fixed": "1.0"}]), "has the event"),
    (osv_record(events=[{"introduced": "0"}, {"fixed": 1}]), "has the event"),
    (osv_record(events=[{"introduced": "0"}, {"fixed": "1.0-"}]), "order cannot read"),
    (osv_record(versions="1.0"), "'versions' that is not a list"),
    ({**GOOD, "aliases": "CVE-1"}, "'aliases' that is not a list"),
])
def test_malformed_records_name_the_file_when_asked(tmp_path, raw, problem):
    """A feed is read lazily: a record's flaws show when a run asks about its package, and
    fail that question (never a pass), naming the file."""
    path = write(tmp_path, "r.json", raw)
    db = load(tmp_path)
    with pytest.raises(OsvError, match=problem) as raised:
        open_for(db, "0.5")
    assert str(raised.value).startswith(f"OSV record {path}")
    assert "osv-schema" in str(raised.value)


@pytest.mark.parametrize("raw, problem", [
    ([without(GOOD, "id")], "r.json\\[0\\] has no 'id' string"),
    ([GOOD, "text"], "record 1 is not a JSON object"),
    (without(GOOD, "id"), "has no 'id'"),
])
def test_records_without_an_id_are_refused_at_load(tmp_path, raw, problem):
    write(tmp_path, "r.json", raw)
    with pytest.raises(OsvError, match=problem):
        load(tmp_path)


def test_entries_without_a_package_are_skipped(tmp_path):
    """Real GIT records: an affected entry with ranges of commits and no package."""
    git_only = osv_record(id="CVE-2024-0001")
    git_only["affected"] = [{"ranges": [{"type": "GIT", "repo": "https://x/q.git",
                                         "events": [{"introduced": "0"}, {"fixed": "ab12"}]}]}]
    write(tmp_path, "git.json", git_only)
    write(tmp_path, "good.json", GOOD)
    db = load(tmp_path)
    assert (len(db), db.feed.skipped) == (1, 1)
    assert open_ids(db, "0.5") == ["DEBIAN-CVE-TEST-1"]


def test_a_semver_range_in_a_debian_ecosystem_is_refused(tmp_path):
    record = osv_record(events=[{"introduced": "0"}])
    record["affected"][0]["ranges"][0]["type"] = "SEMVER"
    write(tmp_path, "r.json", record)
    with pytest.raises(OsvError, match="SEMVER range in a distribution's ecosystem"):
        open_for(load(tmp_path), "1.0")


def test_an_id_found_twice_keeps_the_copy_modified_last(tmp_path):
    old = osv_record(events=[{"introduced": "0"}, {"fixed": "1.0-1"}])
    new = osv_record(events=[{"introduced": "0"}, {"fixed": "2.0-1"}],
                     modified="2026-06-01T00:00:00.5Z")
    write(tmp_path, "b/new.json", new)
    write(tmp_path, "a/old.json", old)
    write(tmp_path, "c/same.json", old)
    db = load(tmp_path)
    assert (len(db), db.feed.duplicates) == (1, 2)
    assert [f.fixed for f in open_for(db, "1.5-1")] == ["2.0-1"]


def test_an_advisory_and_the_cve_records_it_names_are_one_finding(tmp_path):
    write(tmp_path, "dsa.json", osv_record(id="DSA-5555-1", aliases=[],
                                           upstream=["CVE-2024-1", "CVE-2024-2"],
                                           events=[{"introduced": "0"}, {"fixed": "1:7.2-9"}]))
    for cve in ("CVE-2024-1", "CVE-2024-2"):
        write(tmp_path, f"{cve}.json", osv_record(id=f"DEBIAN-{cve}", aliases=[],
                                                  upstream=[cve], events=[
                                                      {"introduced": "0"}, {"fixed": "1:7.2-9"}]))
    write(tmp_path, "other.json", osv_record(id="DEBIAN-CVE-2024-3", aliases=["CVE-2024-3"],
                                             events=[{"introduced": "0"}]))
    findings = open_for(load(tmp_path), "1:7.2-8")
    assert [(f.id, f.cves, f.fixed) for f in findings] == [
        ("DSA-5555-1", ("CVE-2024-1", "CVE-2024-2"), "1:7.2-9"),
        ("DEBIAN-CVE-2024-3", ("CVE-2024-3",), None)]
    assert findings[0].ids == ("DSA-5555-1", "DEBIAN-CVE-2024-1", "DEBIAN-CVE-2024-2")


@given(deb_versions, deb_versions)
def test_open_iff_below_the_fix(tmp_path_factory, installed, fixed):
    folder = tmp_path_factory.mktemp("osv")
    write(folder, "r.json", osv_record(events=[{"introduced": "0"}, {"fixed": fixed}]))
    findings = open_for(load(folder), installed)
    assert bool(findings) == (compare(installed, fixed) < 0)
    assert all(f.fixed == fixed for f in findings)


def test_shipped_records_parse_and_say_where_their_versions_came_from():
    db = load(SHIPPED)
    assert len(db) >= 8
    for package in ("qemu", "libvirt", "linux"):
        assert db.covers([ECOSYSTEM], [package])
    for path in db.feed.files:
        raw = json.loads(path.read_text())
        for record in raw if isinstance(raw, list) else [raw]:
            notes = record["database_specific"]
            assert isinstance(notes["source"], str) and notes["source"], record["id"]
            assert isinstance(notes["verified"], bool), record["id"]
            assert record["id"] == "DEBIAN-" + record["aliases"][0]


def test_shipped_records_against_bookworm_releases():
    db = load(SHIPPED)
    assert open_ids(db, "1:7.2+dfsg-7") == ["DEBIAN-CVE-2023-2861", "DEBIAN-CVE-2023-3180"]
    assert open_ids(db, "1:7.2+dfsg-7+deb12u18") == []
    assert open_ids(db, "9.0.0-4", package="libvirt") == ["DEBIAN-CVE-2024-2494"]
    assert open_ids(db, "6.1.27-1", package="linux") == ["DEBIAN-CVE-2023-3269",
                                                         "DEBIAN-CVE-2024-2201"]
    assert open_ids(db, "6.1.76-1", package="linux") == ["DEBIAN-CVE-2024-2201"]


def zipped(path, records, extra=()):
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for record in records:
            archive.writestr(f"{record['id']}.json", json.dumps(record))
        for name, text in extra:
            archive.writestr(name, text)
    return path


def test_the_global_zip_loads_with_other_ecosystems_skipped(tmp_path):
    """Language databases' members are skipped by name, unread (even broken); records of
    other ecosystems are indexed and never asked about."""
    path = zipped(tmp_path / "all.zip", [
        GOOD, osv_record(id="PYPI-TEST-1", ecosystem="PyPI", package="jinja2",
                         events=[{"introduced": "0"}])],
        extra=[("GHSA-xxxx-yyyy-zzzz.json", "{broken"), ("README.txt", "not a record")])
    db = load(path)
    assert len(db) == 2 and db.ecosystems(lambda e: True) == ["Debian:12", "PyPI"]
    assert [f.where for f in open_for(db, "0.5")] == [f"{path}:DEBIAN-CVE-TEST-1.json"]


def test_a_zips_index_is_kept_and_renewed_when_the_zip_changes(tmp_path):
    import os

    cache = tmp_path / "index"
    path = zipped(tmp_path / "Debian.zip", [GOOD])
    first = open_for(load(path, cache), "0.5")
    assert len(list(cache.glob("*.json"))) == 1
    again = load(path, cache)
    assert open_for(again, "0.5") == first and again.feed.files == (path,)
    newer = osv_record(events=[{"introduced": "0"}, {"fixed": "0.4-1"}])
    zipped(path, [newer])
    os.utime(path, ns=(1, 1))  # a new file: another size or time
    assert open_for(load(path, cache), "0.5") == []


def test_a_damaged_member_is_named(tmp_path):
    path = zipped(tmp_path / "Debian.zip", [GOOD])
    data = bytearray(path.read_bytes())
    at = data.index(b"DEBIAN-CVE-TEST-1.json") + len("DEBIAN-CVE-TEST-1.json") + 5
    data[at] ^= 0xFF  # inside the first member's compressed bytes
    path.write_bytes(bytes(data))
    with pytest.raises(OsvError, match="member DEBIAN-CVE-TEST-1.json is damaged"):
        load(path)
