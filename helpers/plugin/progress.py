"""Progress a person can follow on a long run: which guest boots, which control is checked.

    vmiso: booting 2 guests of template hardened (tcg) on qemu:///system?socket=...
    vmiso: guest vmiso-1a2b3c-hardened-1 ready in 4.1 s (direct boot) at 10.213.0.150
    vmiso: checking NET-01 Guest cannot reach services on the host

A control is announced when its first check starts. Lines go to pytest's terminal between its
own progress marks, also at -qq (what the vmiso command runs with: no pytest summary); -qqq
silences them.
"""

import contextlib

import pytest

from helpers.plugin.report import item_controls

QUIET_BELOW = -3  # pytest's verbosity at -qqq


def say(config, text):
    """A line on the terminal, also from inside a fixture (whose output pytest captures)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or config.get_verbosity() <= QUIET_BELOW:
        return
    capture = config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        if reporter._tw.width_of_current_line:  # after pytest's progress dots
            reporter.write("\n")
        reporter.write_line(f"vmiso: {text}")


class ControlProgress:
    def __init__(self, config, catalog):
        self.config = config
        self.catalog = catalog
        self.controls_of = {}  # node id -> control ids
        self.started = set()  # controls whose first check has started

    def pytest_collection_modifyitems(self, items):
        self.controls_of = {item.nodeid: item_controls(item) for item in items}

    def pytest_runtest_logstart(self, nodeid):
        new = [cid for cid in self.controls_of.get(nodeid, []) if cid not in self.started]
        if new:
            self.started.update(new)
            say(self.config, "checking " + ", ".join(f"{cid} {self.catalog[cid].title}"
                                                      for cid in new))


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    catalog = config.pluginmanager.get_plugin("vmiso-report").catalog
    config.pluginmanager.register(ControlProgress(config, catalog), "vmiso-progress")
