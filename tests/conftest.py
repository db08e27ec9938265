"""vmiso's own tests: unit/ (pure logic: no root, no libvirt, no guest; `make unit`, seconds),
selftest/ (runs of the suite, labs, guests, faults; `make test` runs both) and support/ (what
the self-tests share: the suite launcher, the remote hosts' sshd, the mutation matrix, the fault
plugins, sample data).

Every test under selftest/ carries the `selftest` marker: `-m "not selftest"` leaves them out.

`make test` runs them on every core (pytest-xdist, `--dist loadscope`): tests/support/workers.py
says which tests stay together on one worker. Slow modules are handed out first, so that no long
one starts last. Tests marked `alone` run afterwards, by themselves.
"""

from pathlib import Path

import pytest

from tests.support import workers

SELFTESTS = Path(__file__).resolve().parent / "selftest"
MARKERS = (
    "selftest: runs the suite, a lab or a guest (tests/selftest/)",
    "slow: a self-test that takes minutes (make test runs it; -m 'not slow' leaves it out)",
    "alone: leaves or reads what every run on this machine shares (a killed run's lab for the "
    "next run to sweep, /etc/libvirt): make test runs it after the others, by itself",
)


def pytest_configure(config):
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)


def pytest_collection_modifyitems(items):
    for item in items:
        if SELFTESTS in Path(item.path).parents:
            item.add_marker(pytest.mark.selftest)
    items.sort(key=_hand_out_order)  # stable: a module's tests keep their order


def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") == "loadscope":
        return workers.scheduler(config, log)
    return None


def _hand_out_order(item):
    """Slow self-tests first, then the others, then the unit tests."""
    if not item.get_closest_marker("selftest"):
        return 2
    return 0 if item.get_closest_marker("slow") else 1
