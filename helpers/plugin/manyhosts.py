"""Many hosts in one run: one pytest-xdist worker per --libvirt-uri, every check on each host.

    pytest suites --libvirt-uri qemu+ssh://root@kvm1/system --libvirt-uri qemu+ssh://root@kvm2/system

With several URIs the run starts one worker per host (`-n N --dist each`: each worker runs every
selected check against its own host, with its own guests; no guest is shared across workers).
The probe seed is drawn once, here, so every host is probed on the same ports. Each worker hands
its check results and run facts back (helpers/plugin/report.py), and the controller writes one
report of host x control.
"""

import pytest

from helpers.plugin import sampling
from helpers.plugin.options import OPT_URI

WORKER_PREFIX = "gw"  # xdist names its workers gw0, gw1, ...


def uris(config):
    return config.getoption("libvirt_uri")


def is_worker(config):
    return hasattr(config, "workerinput")


def uri_for(config):
    """The libvirt URI this process tests: the only one, this worker's, or None (the lab)."""
    given = uris(config)
    if not given:
        return None
    if len(given) == 1:
        return given[0]
    if not is_worker(config):
        raise RuntimeError(f"several {OPT_URI} values are tested by xdist workers only")
    return given[int(config.workerinput["workerid"].removeprefix(WORKER_PREFIX))]


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    given = uris(config)
    if len(given) < 2 or is_worker(config) or config.option.collectonly:
        return
    if len(set(given)) != len(given):
        raise pytest.UsageError(f"{OPT_URI} names the same host twice; give each host once")
    if not config.pluginmanager.hasplugin("xdist"):
        raise pytest.UsageError(f"several {OPT_URI} values need pytest-xdist (one worker per "
                                "host): run `make venv`, or test one host per run")
    workers = config.getoption("numprocesses")
    if workers not in (None, 0, len(given)):
        raise pytest.UsageError(f"-n {workers} with {len(given)} hosts: vmiso runs one worker "
                                f"per {OPT_URI}; leave -n out")
    config.option.numprocesses = len(given)
    config.option.dist = "each"
    if config.getoption("probe_seed") is None:
        config.option.probe_seed = sampling.new_seed()
