"""Client policies as data: the built-ins, jitter bounds, the retry budget and the circuit
breaker (per phone, on an injected clock), and what the mobile client counts."""
from random import Random

import pytest

from loadtests.phone.mobile import Device, Journey, MobileClient, StepFailed
from loadtests.phone.resilience import CLOSED, HALF_OPEN, OPEN, BreakerState, RetryBudgetState
from loadtests.phone.retry import (POLICIES, Backoff, CircuitBreaker, ClientPolicy, RetryBudget,
                                   policy_of)
from tests.loadtests.phone.test_mobile_client import FakeResponse, ScriptedSession


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_builtins_are_policies_like_any_other():
    assert set(POLICIES) == {"none", "naive", "backoff", "budgeted", "breaker"}
    assert POLICIES["budgeted"].retry_budget == RetryBudget(0.2, 30.0)
    assert POLICIES["breaker"].circuit_breaker.min_calls == 5
    assert all(p.timeout_s == 5.0 for p in POLICIES.values())


def test_a_mapping_becomes_a_policy_and_a_name_keeps_its_builtin():
    policy = policy_of({"timeout_s": 1.5, "retries": 2,
                        "backoff": {"base_s": 0.1, "cap_s": 1, "jitter": "none"},
                        "retry_budget": {"ratio": 0.1, "window_s": 10}})
    assert policy.name == "custom" and policy.timeout_s == 1.5 and policy.retries == 2
    assert policy.backoff == Backoff(0.1, 1.0, "none") and policy.circuit_breaker is None
    assert policy_of("naive") is POLICIES["naive"]
    assert policy_of("naive", timeout_s=2).timeout_s == 2 and policy_of("naive", 2).retries == 3


@pytest.mark.parametrize("retry, ceiling", [(1, 0.5), (2, 1.0), (3, 2.0), (4, 3.0), (9, 3.0)])
def test_full_jitter_stays_within_zero_and_the_capped_ceiling(retry, ceiling):
    policy = ClientPolicy("p", retries=9, backoff=Backoff(0.5, 3.0, "full"))
    rng = Random(11)
    delays = [policy.delay_s(retry, rng) for _ in range(3000)]
    assert all(0 <= d <= ceiling for d in delays)
    assert min(delays) < 0.05 * ceiling and max(delays) > 0.95 * ceiling


def test_no_jitter_waits_exactly_the_capped_exponential():
    policy = ClientPolicy("p", retries=5, backoff=Backoff(0.5, 3.0, "none"))
    assert [policy.delay_s(n, Random(0)) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 3.0]


def test_retry_budget_allows_retries_up_to_its_share_of_first_attempts():
    clock = Clock()
    budget = RetryBudgetState(RetryBudget(ratio=0.5, window_s=10), clock)
    for _ in range(4):
        budget.first_attempt()
    assert [budget.try_retry() for _ in range(3)] == [True, True, False]  # 2 = 0.5 x 4


def test_retry_budget_forgets_what_left_its_window():
    clock = Clock()
    budget = RetryBudgetState(RetryBudget(ratio=0.5, window_s=10), clock)
    budget.first_attempt()
    budget.first_attempt()
    assert budget.try_retry() and not budget.try_retry()
    clock.now += 11  # the first attempts left the window: nothing to spend
    assert not budget.try_retry()
    budget.first_attempt()
    budget.first_attempt()
    assert budget.try_retry()


def breaker(clock):
    return BreakerState(CircuitBreaker(failure_ratio=0.5, window_s=10, min_calls=4, open_s=5),
                        clock)


def test_breaker_opens_on_the_failure_ratio_once_it_has_min_calls():
    clock = Clock()
    state = breaker(clock)
    for failed in (True, True, True):
        state.record(failed)
    assert state.state == CLOSED  # 3 calls: under min_calls
    state.record(False)
    assert state.state == OPEN and state.opened == 1 and not state.allow()


def test_breaker_half_opens_after_open_s_and_lets_one_probe_through():
    clock = Clock()
    state = breaker(clock)
    for _ in range(4):
        state.record(True)
    clock.now += 4.9
    assert not state.allow()
    clock.now += 0.2
    assert state.allow() and state.state == HALF_OPEN
    assert not state.allow()  # the probe is out: everyone else fails fast
    state.record(False)
    assert state.state == CLOSED and state.allow()


def test_a_failed_probe_opens_the_breaker_again():
    clock = Clock()
    state = breaker(clock)
    for _ in range(4):
        state.record(True)
    clock.now += 5
    assert state.allow()
    state.record(True)
    assert state.state == OPEN and state.opened == 2 and not state.allow()


def client(policy, *answers, clock=None, sleeps=None):
    device = Device(number=7, platform="ios", app_version="4.2.0", device_id="dev_1")
    session = ScriptedSession(*answers)
    phone = MobileClient(session, device, policy, id_rng=Random(1), jitter_rng=Random(2),
                         sleep=(sleeps.append if sleeps is not None else lambda s: None),
                         clock=clock or Clock())
    phone.token = "tok"
    return phone, session


def test_an_exhausted_budget_stops_the_retries_and_counts_the_denial():
    policy = ClientPolicy("b", retries=3, retry_budget=RetryBudget(ratio=0.5, window_s=60))
    phone, session = client(policy, FakeResponse(503, {}), FakeResponse(503, {}),
                            FakeResponse(503, {}), FakeResponse(503, {}))
    with pytest.raises(StepFailed):
        phone.call("GET", "/me")
    assert len(session.sent) == 1 and phone.budget_denied == 1 and phone.retries == 0
    # a second first attempt buys one retry (0.5 x 2), the one after it is denied
    phone2, session2 = client(policy, *[FakeResponse(503, {})] * 3, FakeResponse(200, {}))
    for _ in range(2):
        with pytest.raises(StepFailed):
            phone2.call("GET", "/me")
    phone2.call("GET", "/me")
    assert phone2.retries == 1 and phone2.budget_denied == 2 and len(session2.sent) == 4


def test_an_open_breaker_fails_calls_fast_without_a_request():
    policy = ClientPolicy("c", retries=0, circuit_breaker=CircuitBreaker(1.0, 10, 2, 30))
    phone, session = client(policy, FakeResponse(0), FakeResponse(0))
    for _ in range(2):
        with pytest.raises(StepFailed):
            phone.call("GET", "/me")
    with pytest.raises(StepFailed, match="circuit open"):
        phone.call("GET", "/me")
    assert len(session.sent) == 2 and phone.fast_failed == 1 and phone.breaker_opened == 1


def test_a_journey_carries_the_policy_counters():
    policy = ClientPolicy("w", retries=2, backoff=Backoff(1.0, 1.0, "none"))
    sleeps = []
    phone, _ = client(policy, FakeResponse(0), FakeResponse(0), FakeResponse(200, {}),
                      sleeps=sleeps)
    seen = []
    with Journey("app_open", phone, seen.append):
        phone.call("GET", "/me")
    (journey,) = seen
    assert journey.ok and journey.retries == 2 and journey.requests == 3
    assert journey.wait_s == sum(sleeps) == 2.0 and journey.fast_failed == 0
