"""The unit tests' hypothesis profile (tests/unit/conftest.py): no test fails because a loaded
machine ran one example slowly. It is the one in force unless HYPOTHESIS_PROFILE names another."""

import os

from hypothesis import HealthCheck, settings


def test_no_example_has_a_deadline_and_slow_data_is_no_failure():
    profile = settings.get_profile("vmiso")
    assert profile.deadline is None
    assert HealthCheck.too_slow in profile.suppress_health_check
    if os.environ.get("HYPOTHESIS_PROFILE", "vmiso") == "vmiso":
        assert settings.default.deadline is None
        assert HealthCheck.too_slow in settings.default.suppress_health_check
