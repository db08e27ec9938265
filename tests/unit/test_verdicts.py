"""What checks' verdicts add up to, and how pytest outcomes become verdicts."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.verdict.verdicts import (
    DRIFT,
    ERROR,
    FAIL,
    MITIGATED,
    NOT_APPLICABLE,
    PASS,
    aggregate,
    check_verdict,
    control_verdict,
)

ALL = [PASS, FAIL, ERROR, NOT_APPLICABLE, MITIGATED]
verdict_lists = st.lists(st.sampled_from(ALL))


@given(verdict_lists)
def test_any_fail_makes_the_control_fail(verdicts):
    assert (aggregate(verdicts) == FAIL) == (FAIL in verdicts)


@given(verdict_lists)
def test_an_error_without_a_fail_is_an_error_never_a_pass(verdicts):
    if ERROR in verdicts and FAIL not in verdicts:
        assert aggregate(verdicts) == ERROR


@given(st.lists(st.just(NOT_APPLICABLE)))
def test_only_skips_or_nothing_is_skip(verdicts):
    assert aggregate(verdicts) == NOT_APPLICABLE


@given(verdict_lists)
def test_pass_only_when_a_check_passed_and_none_failed_errored_or_was_mitigated(verdicts):
    expected = PASS in verdicts and not {FAIL, ERROR, MITIGATED} & set(verdicts)
    assert (aggregate(verdicts) == PASS) == expected


@given(verdict_lists)
def test_skips_do_not_change_the_verdict(verdicts):
    assert aggregate(verdicts + [NOT_APPLICABLE]) == aggregate(verdicts)


@given(verdict_lists)
def test_aggregate_ignores_order(verdicts):
    assert aggregate(verdicts) == aggregate(list(reversed(verdicts)))


def test_mitigated_beats_pass_but_not_error():
    assert aggregate([PASS, MITIGATED]) == MITIGATED
    assert aggregate([MITIGATED, ERROR]) == ERROR


@pytest.mark.parametrize("outcome, is_assertion, mitigated, verdict", [
    ("passed", False, False, PASS),
    ("passed", False, True, MITIGATED),
    ("failed", True, False, FAIL),
    ("failed", True, True, FAIL),
    ("failed", False, False, ERROR),
    ("failed", False, True, ERROR),
    ("skipped", False, False, NOT_APPLICABLE),
    ("skipped", True, True, NOT_APPLICABLE),
])
def test_check_verdict_maps_pytest_outcomes(outcome, is_assertion, mitigated, verdict):
    assert check_verdict(outcome, is_assertion, mitigated) == verdict


decided = st.lists(st.sampled_from([PASS, FAIL, MITIGATED]), min_size=1)


@given(decided, decided)
def test_drift_exactly_when_declared_and_observed_disagree_on_failing(declared, observed):
    disagree = (FAIL in declared) != (FAIL in observed)
    assert (control_verdict(declared, observed) == DRIFT) == disagree


@given(verdict_lists, verdict_lists)
def test_no_drift_or_pass_hides_an_error_when_nothing_failed(declared, observed):
    verdicts = declared + observed
    if ERROR in verdicts and FAIL not in verdicts:
        assert control_verdict(declared, observed) == ERROR


@given(verdict_lists, verdict_lists)
def test_agreeing_vantages_give_the_plain_aggregate(declared, observed):
    if (FAIL in declared) == (FAIL in observed):
        assert control_verdict(declared, observed) == aggregate(declared + observed)
