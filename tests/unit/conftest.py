"""The unit tests' hypothesis profile, for `make unit` (which reads no conftest above this folder)
and `make test` alike: no per-example deadline and no too-slow health check, because both time
the machine rather than the code and fail on a loaded one. HYPOTHESIS_PROFILE=default restores
hypothesis's own settings, to find a slow example on purpose."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("vmiso", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "vmiso"))
