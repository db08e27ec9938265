"""Tearing down in steps: every step runs, and a failure never hides the error that ended the
work being torn down.

    run_all([ssh.close, destroy_domain, remove_files], raising=body_ended_well)
"""

import warnings


def run_all(steps, raising):
    """Every step, whatever the ones before it raised. The first failure is raised after all of
    them where the work ended well (`raising`); where an exception of its own is on its way
    out, each failure is a warning and never takes its place."""
    failures = []
    for step in steps:
        try:
            step()
        except Exception as err:
            failures.append(err)
    if failures and raising:
        raise failures[0]
    for err in failures:
        warnings.warn(f"vmiso: tearing down also failed: {err}", stacklevel=2)
