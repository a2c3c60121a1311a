"""The kill switch and exempt paths the way a user runs the bank: `banksim serve` (2 workers x 8
threads), a timeout rule and dozens of hanging requests. /health, /metrics and the kill
switch still answer (docs/reference.md), the disable
cuts the hangs short, and requests sent after it are not faulted."""
import time
from concurrent.futures import ThreadPoolExecutor, wait

import pytest
import requests

HANGING = 48
pytestmark = pytest.mark.slow


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def hang(url):
    """One request into the timeout rule: what the client got and when."""
    started = time.monotonic()
    try:
        outcome = requests.get(url + "/me", timeout=40).status_code
    except requests.ConnectionError:
        outcome = "closed"
    return outcome, time.monotonic() - started


def test_exempt_paths_answer_however_many_requests_hang_and_disable_ends_the_hangs(
        bank_serve):
    bank = bank_serve()
    rule = requests.post(bank.url + "/admin/chaos/rules", headers=bank.admin_headers,
                         timeout=10, json={"fault": {"type": "timeout", "hang_ms": 20_000}})
    assert rule.status_code == 201, rule.text
    time.sleep(1.5)  # docs/reference.md: every worker applies a change within a second
    with ThreadPoolExecutor(HANGING) as pool:
        hangs = [pool.submit(hang, bank.url) for _ in range(HANGING)]
        time.sleep(1.5)  # every request has reached the server
        health, health_s = timed(lambda: requests.get(bank.url + "/health", timeout=15))
        metrics, metrics_s = timed(lambda: requests.get(bank.url + "/metrics", timeout=15))
        disabled, disable_s = timed(lambda: requests.post(
            bank.url + "/admin/chaos/disable", headers=bank.admin_headers, timeout=15))
        assert (health.status_code, metrics.status_code, disabled.status_code) == (200,) * 3
        assert max(health_s, metrics_s, disable_s) < 5, (health_s, metrics_s, disable_s)
        done, _ = wait(hangs, timeout=10)  # cut short: well before the 20 s hang
        assert len(done) == HANGING
    outcomes = [future.result()[0] for future in hangs]
    # Faulted: closed without an answer. A request the busy machine delivered only after
    # the disable is the bank's own answer (401), never anything else.
    assert set(outcomes) <= {"closed", 401} and outcomes.count("closed") >= HANGING // 2, \
        outcomes
    time.sleep(1.0)  # docs/reference.md: a disable applies to every request that starts after it
    after = [requests.get(bank.url + "/me", timeout=10).status_code for _ in range(40)]
    assert after == [401] * 40  # an answer from the bank, not a fault


def test_a_deleted_rule_stops_firing_within_a_second_in_every_worker(bank_serve):
    bank = bank_serve()
    rule = requests.post(bank.url + "/admin/chaos/rules", headers=bank.admin_headers,
                         timeout=10, json={"fault": {"type": "error", "status": 503},
                                           "match": {"path": "/me"}}).json()
    time.sleep(1.5)
    assert {requests.get(bank.url + "/me", timeout=10).status_code for _ in range(20)} == {503}
    deleted = requests.delete(f"{bank.url}/admin/chaos/rules/{rule['id']}",
                              headers=bank.admin_headers, timeout=10)
    assert deleted.status_code == 204
    time.sleep(1.0)
    after = [requests.get(bank.url + "/me", timeout=10).status_code for _ in range(60)]
    assert after == [401] * 60
