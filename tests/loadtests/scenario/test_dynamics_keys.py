"""The scenario's load, client and bank keys: refused with their path by `banksim scenarios
validate` (as a user runs it), read as the run uses them, overridden like other keys."""
import subprocess
import sys

import pytest

from loadtests.phone.retry import policy_of
from loadtests.scenario import load
from loadtests.scenario.loader import ScenarioError


def validate(tmp_path, text: str) -> subprocess.CompletedProcess:
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\nduration: 60s\n" + text)
    return subprocess.run([sys.executable, "-m", "banksim", "scenarios", "validate", str(path)],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("text, line", [
    ("load: {model: open, rate: -2}\ntimeline: []\n", "load.rate: must be above 0"),
    ("load: {model: open}\ntimeline: []\n", "load.rate: the open model needs a rate"),
    ("load: {model: closed, max_phones: 10}\ntimeline: []\n", "load.max_phones: only with"),
    ("load: {model: open, rate: 3, phones: 10}\ntimeline: []\n", "load.phones: unknown key"),
    ("client: aggressive\ntimeline: []\n", "client: a built-in policy"),
    ("client: {retries: 2, retry_budget: {ratio: 1.5, window_s: 10}}\ntimeline: []\n",
     "client.retry_budget.ratio: a share of first attempts"),
    ("client: {retries: 2, jitter: full}\ntimeline: []\n", "client.jitter: unknown key"),
    ("client: {backoff: {base_s: 2, cap_s: 1}}\ntimeline: []\n",
     "client.backoff.cap_s: must be at least base_s"),
    ("client: {backoff: {base_s: 1, cap_s: 2, jitter: half}}\ntimeline: []\n",
     "client.backoff.jitter: Must be one of"),
    ("client: {circuit_breaker: {failure_ratio: 0.5, window_s: 10, min_calls: 0, "
     "open_s: 5}}\ntimeline: []\n", "client.circuit_breaker.min_calls:"),
    ("client: {timeout_s: 0}\ntimeline: []\n", "client.timeout_s: must be above 0"),
    ("client: naive\nclient_policy: backoff\ntimeline: []\n", "client_policy: a synonym"),
    ("bank: {threads: 0}\ntimeline: []\n", "bank.threads:"),
    ("timeline:\n  - {at: 10s, load: {rate: 3}}\n", "timeline[0].load: a rate change needs"),
    ("load: {model: open, rate: 2}\ntimeline:\n  - {at: 10s, load: {rate: -1}}\n",
     "timeline[0].load.rate: must be above 0"),
])
def test_validate_refuses_bad_dynamics_naming_the_path(tmp_path, text, line):
    result = validate(tmp_path, text)
    assert result.returncode == 1, result.stdout
    assert any(row.startswith(line) for row in result.stdout.splitlines()), result.stdout


def test_validate_accepts_the_documented_dynamics(tmp_path):
    result = validate(tmp_path, (
        "load: {model: open, rate: 20, max_phones: 400}\n"
        "client:\n  timeout_s: 2\n  retries: 3\n"
        "  backoff: {base_s: 0.25, cap_s: 4, jitter: full}\n  honour_retry_after: true\n"
        "  retry_budget: {ratio: 0.1, window_s: 10}\n"
        "  circuit_breaker: {failure_ratio: 0.5, window_s: 10, min_calls: 5, open_s: 5}\n"
        "bank: {workers: 1, threads: 4, service_ms: 100}\n"
        "timeline:\n  - {at: 50%, load: {rate: 40}}\n"))
    assert result.returncode == 0, result.stdout


def test_the_open_model_and_client_read_as_the_run_uses_them():
    storm = load("retry-storm")
    assert storm.load_model == "open" and storm.phones == 300 and storm.client == "naive"
    assert storm.rates() == [(0.0, 5.0), (15.0, 10.0), (35.0, 5.0)]  # the trigger: a burst
    assert storm.bank == {"workers": 1, "threads": 4, "service_ms": 250}
    assert load("bad-release").load_model == "closed"
    assert load("bad-release").client_policy == "backoff"  # `client_policy` stays a synonym
    switched = load("late-notifications", {"client_policy": "budgeted",
                                            "load_model": "closed"})
    assert switched.client == "budgeted" and switched.load_model == "closed"
    assert "client_policy" not in switched.definition
    # retry-storm's trigger is a burst of arrivals: the closed model cannot run it, and
    # says so, rather than drop the steps and replay an incident that never happens
    with pytest.raises(ScenarioError, match=r"timeline\[0\]\.load: a rate change needs"):
        load("retry-storm", {"load_model": "closed"})
    # --users is the number of phones, the open model's max_phones too
    fewer = load("retry-storm", {"users": 50})
    assert fewer.users == 50 and fewer.phones == 50
    assert load("bad-release", {"rate": 7}).rates() == [(0.0, 7.0)]
    assert policy_of(load("retry-storm", {"client": "budgeted"}).client).retry_budget


def test_incident_refuses_a_rate_with_the_closed_model_before_anything_starts(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "banksim", "incident", "--load-model", "closed", "--rate", "5",
         "--out", str(tmp_path / "run")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--rate is the open model's" in result.stderr
    assert not (tmp_path / "run").exists()
