"""The cells of a run: templates from names, files and folders, each on every host; shards split
them evenly and together cover each cell once."""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.plugin import cells


class Options:
    def __init__(self, template=(), image=None, libvirt_uri=(), shard=None):
        self.values = {"template": list(template), "image": image,
                       "libvirt_uri": list(libvirt_uri), "shard": shard}

    def getoption(self, name):
        return self.values[name]


@pytest.fixture
def folder(tmp_path):
    for name in ("web", "db", "gpu"):
        (tmp_path / f"{name}.xml").write_text("<domain/>")
    (tmp_path / "notes.txt").write_text("not a template")
    return tmp_path


def test_the_default_is_the_hardened_template_in_the_lab():
    [cell] = cells.plan(Options())
    assert (cell.uri, cell.template.stem, cell.image) == (None, "hardened", None)


def test_a_folder_gives_each_xml_in_it_on_each_host(folder):
    plan = cells.plan(Options([str(folder)], libvirt_uri=["qemu+ssh://a/system",
                                                           "qemu+ssh://b/system"]))
    assert [(c.uri, c.template.name) for c in plan] == [
        (uri, name) for uri in ("qemu+ssh://a/system", "qemu+ssh://b/system")
        for name in ("db.xml", "gpu.xml", "web.xml")]


def test_an_image_after_equals_is_that_templates_alone(folder):
    plan = cells.plan(Options([f"{folder / 'web.xml'}=/img/web.qcow2", "leaky"],
                              image="/img/default.qcow2"))
    assert [(c.template.stem, str(c.image)) for c in plan] == [
        ("web", "/img/web.qcow2"), ("leaky", "/img/default.qcow2")]


@pytest.mark.parametrize("options, problem", [
    (Options(["hardened", "hardened"]), "two templates named hardened"),
    (Options(["leaky="]), "no image after '='"),
    (Options(libvirt_uri=["qemu:///system", "qemu:///system"]), "names the same host twice"),
    (Options(["hardened", "leaky"], shard="3/2"), "1 <= K <= N"),
    (Options(["hardened", "leaky"], shard="one/two"), "give K/N"),
    (Options(["hardened", "leaky"], shard="1/3"), "fewer than 3 shards"),
])
def test_bad_cells_are_refused_in_one_line(options, problem):
    with pytest.raises(pytest.UsageError, match=problem) as err:
        cells.plan(options)
    assert "\n" not in str(err.value)


def test_an_empty_folder_is_refused(tmp_path):
    with pytest.raises(pytest.UsageError, match="has no \\*.xml template"):
        cells.plan(Options([str(tmp_path)]))


def by_name(cell):
    return cell.uri, str(cell.template)


@given(st.integers(1, 4), st.integers(1, 5), st.data())
def test_shards_cover_every_cell_once_and_evenly(hosts, templates, data):
    uris = [f"qemu+ssh://h{i}/system" for i in range(hosts)]
    names = [f"t{i}" for i in range(templates)]
    total = hosts * templates
    n = data.draw(st.integers(1, total))
    whole = cells.plan(Options(names, libvirt_uri=uris))
    shares = [cells.plan(Options(names, libvirt_uri=uris, shard=f"{k}/{n}"))
              for k in range(1, n + 1)]
    assert sorted((c for share in shares for c in share), key=by_name) == \
        sorted(whole, key=by_name)
    assert max(map(len, shares)) - min(map(len, shares)) <= 1


@given(st.lists(st.sampled_from(["a", "b", "c", None]), min_size=1, max_size=12),
       st.integers(1, 3), st.integers(1, 3))
def test_the_pool_never_drives_more_hosts_or_cells_than_allowed_and_always_progresses(
        uris, per_host, max_hosts):
    """Cells finish one at a time, oldest first: whatever the order, every cell starts, and
    at no moment are more than max_hosts hosts or per_host cells of a host running."""
    pending = [cells.Cell(uri, Path(f"t{i}.xml"), None, i) for i, uri in enumerate(uris)]
    capacity = dict.fromkeys(uris, per_host)
    running, started = [], []
    while pending or running:
        new = cells.startable(pending, running, capacity, max_hosts)
        assert new or running, "nothing runs and nothing may start"
        for cell in new:
            pending.remove(cell)
        running += new
        started += new
        assert len({c.uri for c in running}) <= max_hosts
        assert all(sum(c.uri == uri for c in running) <= per_host for uri in capacity)
        running.pop(0)
    assert sorted(c.position for c in started) == list(range(len(uris)))


@pytest.mark.parametrize("value, environ, expected", [
    ("auto", {"CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "3"}, "2/3"),  # GitLab's parallel: 3
    ("auto/4", {"JOB_COMPLETION_INDEX": "0"}, "1/4"),  # a Kubernetes Indexed Job
    ("auto/4", {"JOB_COMPLETION_INDEX": "3", "CI_NODE_INDEX": "1"}, "4/4"),
    ("auto/3", {"CI_NODE_INDEX": "3"}, "3/3"),
])
def test_shard_auto_reads_the_ci_jobs_own_index(value, environ, expected):
    assert cells.ci_shard(value, environ) == expected


@pytest.mark.parametrize("value, environ, problem", [
    ("auto", {}, "no CI shard variables here; set CI_NODE_INDEX and CI_NODE_TOTAL"),
    ("auto", {"CI_NODE_INDEX": "1"}, "no CI shard variables"),
    ("auto", {"JOB_COMPLETION_INDEX": "2"}, "no total; give it, e.g. --shard auto/4"),
    ("auto", {"CI_NODE_INDEX": "x", "CI_NODE_TOTAL": "2"}, "CI_NODE_INDEX is 'x', not a whole"),
    ("auto/two", {"JOB_COMPLETION_INDEX": "0"}, "the total is 'two', not a whole number"),
])
def test_shard_auto_without_usable_ci_variables_is_one_line(value, environ, problem):
    with pytest.raises(pytest.UsageError, match=problem) as err:
        cells.ci_shard(value, environ)
    assert "\n" not in str(err.value)


def test_a_shard_from_the_ci_splits_as_the_same_k_n_given_by_hand(monkeypatch):
    monkeypatch.setenv("CI_NODE_INDEX", "2")
    monkeypatch.setenv("CI_NODE_TOTAL", "2")
    by_ci = cells.plan(Options(["hardened", "leaky"], shard="auto"))
    assert by_ci == cells.plan(Options(["hardened", "leaky"], shard="2/2")) and len(by_ci) == 1
