"""`banksim incident --scenario retry-storm`, short: the metastable failure must tell its story.

The same trigger (a 20 s burst of arrivals, twice the usual rate) under two client
policies: with naive retries the bank is still saturated when the run ends, long after the
trigger was removed; with a retry budget goodput comes back. The story is asserted, not the seconds:
the bank's capacity is set by the scenario (a fixed service time on fixed threads), so it
holds on a slow machine as on a fast one.
"""
import json
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.story]


def storm(out, client: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "banksim", "incident", "--scenario", "retry-storm",
         "--duration", "65s", "--client", client, "--out", str(out)],
        capture_output=True, text=True, timeout=420)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads((out / "report.json").read_text())


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    return {client: storm(tmp_path_factory.mktemp(client), client)
            for client in ("naive", "budgeted")}


def goodput(report, phase):
    return next(row["succeeded_per_s"] for row in report["goodput"] if row["phase"] == phase)


def test_naive_retries_keep_the_bank_down_after_the_trigger_ends(reports):
    naive = reports["naive"]
    assert naive["incident"]["trigger_ended_at_s"] == 35
    assert naive["load"]["rate"] == 5  # back to the usual rate: nothing else goes wrong
    assert naive["incident"]["metastable_s"] is None  # never back within the SLO
    assert goodput(naive, "recovery") < 0.25 * goodput(naive, "baseline")
    assert naive["policy"]["retries_per_journey"] > 1
    assert naive["server"]["wasted_requests"] > 0  # the bank worked for phones gone


def test_a_retry_budget_lets_the_bank_recover(reports):
    budgeted = reports["budgeted"]
    assert budgeted["incident"]["metastable_s"] is not None
    assert goodput(budgeted, "recovery") > 0.5 * goodput(budgeted, "baseline")
    assert budgeted["policy"]["budget_denied"] > 0
    assert budgeted["client"]["retry_budget"] == {"ratio": 0.2, "window_s": 30.0}


def test_both_runs_met_the_same_arrivals_and_kept_the_money(reports):
    naive, budgeted = reports["naive"], reports["budgeted"]
    assert naive["load"]["model"] == "open" and budgeted["load"]["model"] == "open"
    assert naive["load"]["offered"] > 0 and budgeted["load"]["offered"] > 0
    assert naive["load"]["dropped"] == budgeted["load"]["dropped"] == 0
    assert naive["integrity"]["ok"] and budgeted["integrity"]["ok"]
