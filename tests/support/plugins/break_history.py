"""A fault for the self-tests: the run's --history folder breaks while the run goes on.

    pytest suites --history DIR -p tests.support.plugins.break_history

Once the run has read its inputs (the history folder among them, found sound), every run
recorded in DIR is overwritten with text that is not JSON, as a full disk or a hand edit
would leave it; the run meets it again at its end, when it compares itself with the last one.
"""

from pathlib import Path

import pytest


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session):
    for recorded in Path(session.config.getoption("history")).glob("*.json"):
        recorded.write_text("{not json")
