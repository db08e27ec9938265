"""Teardown in steps: every step runs; a step's failure is raised only where nothing else
already is, and never replaces the error that ended the work."""

import pytest

from helpers.local import teardown


def steps(log, failing=()):
    def step(name):
        def run():
            log.append(name)
            if name in failing:
                raise OSError(f"{name} failed")
        return run
    return [step(name) for name in ("close", "destroy", "remove")]


def test_every_step_runs_and_the_first_failure_is_raised_after_them():
    log = []
    with pytest.raises(OSError, match="close failed"):
        teardown.run_all(steps(log, failing=("close", "destroy")), raising=True)
    assert log == ["close", "destroy", "remove"]


def test_a_failure_while_the_works_own_error_is_on_its_way_out_is_only_a_warning():
    log = []
    with pytest.raises(ValueError, match="the guest died"):
        try:
            raise ValueError("the guest died")
        finally:
            with pytest.warns(UserWarning, match="destroy failed"):
                teardown.run_all(steps(log, failing=("destroy",)), raising=False)
    assert log == ["close", "destroy", "remove"]


def test_nothing_is_raised_when_every_step_succeeds():
    log = []
    teardown.run_all(steps(log), raising=True)
    assert log == ["close", "destroy", "remove"]
