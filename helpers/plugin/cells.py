"""The cells of a run: every template on every host, and which of them this process runs.

    pytest suites --template templates/ --template gpu.xml=gpu-worker.qcow2 \
        --libvirt-uri qemu+ssh://root@kvm1/system --libvirt-uri qemu+ssh://root@kvm2/system
    cells = plan(config)      # [Cell(uri, template, image)], hosts x templates, this shard's share

A run of one cell runs in this process, as always. A run of several (more templates, more hosts,
or a --shard) runs each cell in a pytest process of its own (helpers/plugin/controller.py), so a
cell that cannot boot errs on its own controls while the others go on.
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest

from helpers.plugin.options import OPT_SHARD, OPT_TEMPLATE, OPT_URI
from helpers.template import templatefile

DEFAULT_TEMPLATE = "hardened"
SHARD = re.compile(r"^([0-9]+)/([0-9]+)$")


@dataclass(frozen=True)
class Cell:
    uri: Optional[str]  # the --libvirt-uri as given; None: the local lab
    template: Path
    image: Optional[Path]
    position: int = 0  # in hosts x templates as given: where the report lists it

    @property
    def name(self):
        return f"{self.template.stem} on {self.uri or 'the lab'}"


def templates(config):
    """[(template path, image path or None)] as --template and --image give them."""
    given = config.getoption("template") or [DEFAULT_TEMPLATE]
    default_image = config.getoption("image")
    found = []
    for value in given:
        name, equals, image = value.partition("=")
        if equals and not image:
            raise pytest.UsageError(f"{OPT_TEMPLATE} {value}: no image after '='; give "
                                    f"{OPT_TEMPLATE} TEMPLATE=IMAGE or leave '=' out")
        try:
            paths = templatefile.folder_files(name)
        except templatefile.TemplateArgumentError as err:
            raise pytest.UsageError(f"{OPT_TEMPLATE} {err}") from None
        found += [(path, Path(image) if image else Path(default_image) if default_image else None)
                  for path in paths]
    try:
        templatefile.refuse_same_names(path for path, _ in found)
    except templatefile.TemplateArgumentError as err:
        raise pytest.UsageError(f"{OPT_TEMPLATE}: {err}") from None
    return found


def hosts(config):
    given = config.getoption("libvirt_uri")
    if len(set(given)) != len(given):
        raise pytest.UsageError(f"{OPT_URI} names the same host twice; give each host once")
    return given or [None]


def shard(config, environ=os.environ):
    """(K, N) of --shard K/N (or auto, auto/N: from the CI's variables), or None."""
    value = config.getoption("shard")
    if value is None:
        return None
    if value == "auto" or value.startswith("auto/"):
        value = ci_shard(value, environ)
    match = SHARD.match(value)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise pytest.UsageError(f"{OPT_SHARD} {value}: give K/N with 1 <= K <= N, e.g. "
                                f"{OPT_SHARD} 2/3 for the second of three shares")
    return int(match[1]), int(match[2])


def ci_shard(value, environ):
    """K/N for --shard auto (GitLab's `parallel:`: CI_NODE_INDEX of CI_NODE_TOTAL, from 1) or
    --shard auto/N (N given: a Kubernetes Indexed Job's JOB_COMPLETION_INDEX, from 0, or
    CI_NODE_INDEX)."""
    total = value.partition("/")[2] or environ.get("CI_NODE_TOTAL")
    if "JOB_COMPLETION_INDEX" in environ and value != "auto":
        index = _number(environ["JOB_COMPLETION_INDEX"], "JOB_COMPLETION_INDEX") + 1
    elif "CI_NODE_INDEX" in environ and total:
        index = _number(environ["CI_NODE_INDEX"], "CI_NODE_INDEX")
    elif "JOB_COMPLETION_INDEX" in environ:
        raise pytest.UsageError(f"{OPT_SHARD} auto: JOB_COMPLETION_INDEX is set but no total; "
                                f"give it, e.g. {OPT_SHARD} auto/4 for an Indexed Job of "
                                f"completions 4")
    else:
        raise pytest.UsageError(f"{OPT_SHARD} {value}: no CI shard variables here; set "
                                f"CI_NODE_INDEX and CI_NODE_TOTAL (GitLab's parallel:), or "
                                f"JOB_COMPLETION_INDEX with {OPT_SHARD} auto/N (a Kubernetes "
                                f"Indexed Job), or give K/N")
    return f"{index}/{_number(total, 'the total')}"


def _number(text, name):
    if not str(text).strip().isdigit():
        raise pytest.UsageError(f"{OPT_SHARD} auto: {name} is {text!r}, not a whole number; "
                                f"set it as the CI does, or give {OPT_SHARD} K/N")
    return int(text)


def plan(config):
    """The cells this run tests: hosts x templates, or its shard's share of them. The split is
    round robin over the cells in a fixed order (host, then template file), so shards are even
    and every job of a CI matrix, given the same options, computes the same split."""
    every = [Cell(uri, path, image, i) for i, (uri, (path, image)) in
             enumerate((uri, t) for uri in hosts(config) for t in templates(config))]
    chosen = shard(config)
    if chosen is None:
        return every
    k, n = chosen
    if n > len(every):
        raise pytest.UsageError(f"{OPT_SHARD} {k}/{n}: the run has {len(every)} cells (hosts x "
                                f"templates), fewer than {n} shards; use at most {len(every)}")
    ordered = sorted(every, key=lambda c: (c.uri or "", str(c.template)))
    return [cell for i, cell in enumerate(ordered) if i % n == k - 1]


def runs_cells(config, planned):
    """Whether this process drives its `planned` cells in processes of their own."""
    return config.getoption("shard") is not None or len(planned) > 1


def uri_for(config):
    """The libvirt URI this process tests (its one cell's), or None (the local lab)."""
    given = config.getoption("libvirt_uri")
    if len(given) > 1:
        raise RuntimeError(f"several {OPT_URI} values are tested by cells of their own")
    return given[0] if given else None


def startable(pending, running, capacity, max_hosts):
    """The pending cells to start now, in order, beside the `running` ones: at most
    `capacity[uri]` cells of a host at once, and at most `max_hosts` hosts driven at once."""
    busy = [cell.uri for cell in running]
    chosen = []
    for cell in pending:
        if cell.uri not in busy and len(set(busy)) >= max_hosts:
            continue
        if busy.count(cell.uri) < capacity[cell.uri]:
            busy.append(cell.uri)
            chosen.append(cell)
    return chosen
