"""Verdicts: what one check concluded, and what a control's checks add up to.

    >>> aggregate(["pass", "not_applicable", "pass"])
    'pass'
    >>> aggregate(["pass", "error"])
    'error'
    >>> aggregate(["pass", "not_run"])
    'not_run'
    >>> control_verdict(declared=["pass"], observed=["fail", "pass"])
    'drift'
"""

PASS, FAIL, ERROR, MITIGATED = "pass", "fail", "error", "mitigated"
# No check applied to this host (e.g. /dev/kvm checks where there is no /dev/kvm): the reason is
# the skipped check's message.
NOT_APPLICABLE = "not_applicable"
DRIFT = "drift"  # the template declares one thing, the running guest shows another
WAIVED = "waived"  # a failure someone accepted until a date (helpers/verdict/waivers.py)
# The run ended (interrupted, or it could not run) before a check of the control concluded.
NOT_RUN = "not_run"
# Control verdicts that fail the run.
FAILING = (FAIL, DRIFT, ERROR, NOT_RUN)
# Undecided: never a pass, whatever the severity, and never waived.
UNDECIDED = (ERROR, NOT_RUN)
# Worst first: the first of these that any check reached is the control's verdict.
PRECEDENCE = (FAIL, ERROR, NOT_RUN, MITIGATED, PASS)


def aggregate(check_verdicts):
    """fail if any check failed, error if any could not decide, not_applicable when none applied."""
    for verdict in PRECEDENCE:
        if verdict in check_verdicts:
            return verdict
    return NOT_APPLICABLE


def control_verdict(declared, observed):
    """A control's verdict from its checks of the template as declared and of what runs.

    When both decided and exactly one of them failed, the vantages disagree: drift (the XML
    says absent and the guest sees it, or the reverse), which counts as a failure.
    """
    said, seen = aggregate(declared), aggregate(observed)
    decided = (PASS, FAIL, MITIGATED)
    if said in decided and seen in decided and (said == FAIL) != (seen == FAIL):
        return DRIFT
    return aggregate(declared + observed)


def after_waiver(status, waiver_active):
    """A failed or drifted control under an active waiver is waived; an error never is."""
    return WAIVED if waiver_active and status in (FAIL, DRIFT) else status


def check_verdict(outcome, is_assertion, mitigated=False):
    """The verdict of one check from pytest's outcome.

    Only an assertion about the evidence is a fail; any other exception (the guest died, SSH
    broke, a probe's positive twin failed) means the check could not decide: error.
    """
    if outcome == "skipped":
        return NOT_APPLICABLE
    if outcome == "passed":
        return MITIGATED if mitigated else PASS
    return FAIL if is_assertion else ERROR

