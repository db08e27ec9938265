"""vmiso's own tests: unit/ (pure logic: no root, no libvirt, no guest; `make unit`, seconds),
selftest/ (runs of the suite, labs, guests, faults; `make test` runs both) and support/ (what
the self-tests share: the suite launcher, the remote hosts' sshd, the mutation matrix, the fault
plugins, sample data).

Every test under selftest/ carries the `selftest` marker: `-m "not selftest"` leaves them out.
"""

from pathlib import Path

import pytest

SELFTESTS = Path(__file__).resolve().parent / "selftest"
MARKERS = (
    "selftest: runs the suite, a lab or a guest (tests/selftest/)",
    "slow: a self-test that takes minutes (make test runs it; -m 'not slow' leaves it out)",
)


def pytest_configure(config):
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)


def pytest_collection_modifyitems(items):
    for item in items:
        if SELFTESTS in Path(item.path).parents:
            item.add_marker(pytest.mark.selftest)
