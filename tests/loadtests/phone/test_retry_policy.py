"""Client retry policies: how many retries, how long between them, what is retried."""
from random import Random

import pytest

from loadtests.phone.retry import (MAX_RETRY_AFTER_S, POLICIES, parse_retry_after, policy_named,
                             retryable)


def test_policies_allow_the_documented_number_of_retries():
    assert [policy_named(n).max_retries for n in ("none", "naive", "backoff")] == [0, 3, 4]


def test_unknown_policy_is_rejected():
    with pytest.raises(ValueError, match="unknown client policy"):
        policy_named("aggressive")


def test_naive_retries_immediately_even_when_asked_to_wait():
    naive = POLICIES["naive"]
    assert [naive.delay_s(n, Random(1), retry_after_s=5) for n in (1, 2, 3)] == [0, 0, 0]


@pytest.mark.parametrize("retry, ceiling", [(1, 0.25), (2, 0.5), (3, 1.0), (4, 2.0), (5, 4.0),
                                            (8, 4.0)])
def test_backoff_is_full_jitter_under_a_capped_exponential_ceiling(retry, ceiling):
    rng = Random(7)
    delays = [POLICIES["backoff"].delay_s(retry, rng) for _ in range(2000)]
    assert all(0 <= d <= ceiling for d in delays)
    assert max(delays) > 0.9 * ceiling          # spread over the whole range...
    assert min(delays) < 0.1 * ceiling          # ...from (nearly) zero: full jitter
    assert len(set(delays)) > 1900


def test_backoff_delays_are_reproducible_from_the_seed():
    backoff = POLICIES["backoff"]
    first = [backoff.delay_s(n, Random(3)) for n in (1, 2, 3, 4)]
    assert first == [backoff.delay_s(n, Random(3)) for n in (1, 2, 3, 4)]


def test_backoff_waits_at_least_retry_after():
    backoff = POLICIES["backoff"]
    assert all(backoff.delay_s(1, Random(s), retry_after_s=3) >= 3 for s in range(50))


def test_backoff_caps_an_absurd_retry_after():
    assert POLICIES["backoff"].delay_s(1, Random(0), retry_after_s=3600) == MAX_RETRY_AFTER_S


def test_retry_numbers_start_at_one():
    with pytest.raises(ValueError):
        POLICIES["backoff"].delay_s(0, Random(0))


@pytest.mark.parametrize("status, code, is_json", [
    (None, None, True),                    # reset, refused, timed out: no answer at all
    (500, "internal_error", True), (502, None, False), (503, "service_unavailable", True),
    (504, None, True), (429, "too_many_requests", True),
    (409, "idempotency_conflict", True),   # the first request is still running
    (200, None, False), (201, None, False),  # malformed: truncated, garbage or empty body
])
def test_transient_failures_are_retried(status, code, is_json):
    assert retryable(status, code, is_json)


@pytest.mark.parametrize("status, code", [
    (400, "validation_error"), (401, "unauthorized"), (404, "not_found"),
    (409, "email_taken"), (422, "insufficient_funds"), (422, "idempotency_key_reused"),
    (200, None), (201, None),
])
def test_answers_that_would_repeat_are_not_retried(status, code):
    assert not retryable(status, code, True)


@pytest.mark.parametrize("header, seconds", [("3", 3.0), ("0.5", 0.5), (None, None), ("", None),
                                             ("Wed, 21 Oct 2026 07:28:00 GMT", None),
                                             ("-1", None)])
def test_retry_after_is_read_in_seconds(header, seconds):
    assert parse_retry_after(header) == seconds
