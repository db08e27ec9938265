"""Fault plugin for self-tests: the run holds at its first active probe, its canaries up, so
that a test can act on the host during a run's active phase. It writes the file named by
VMISO_HOLD_FILE and waits (at most HOLD_S) until the file is gone or the run is interrupted.

    VMISO_HOLD_FILE=/tmp/held pytest suites -p tests.support.plugins.hold_at_first_probe
"""

import os
import time
from pathlib import Path

import pytest

HOLD_S = 300
held = pytest.StashKey[bool]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    if "canaries" not in item.funcargs or item.config.stash.get(held, False):
        return
    item.config.stash[held] = True
    mark = Path(os.environ["VMISO_HOLD_FILE"])
    mark.write_text(str(os.getpid()))
    deadline = time.monotonic() + HOLD_S
    while mark.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
