"""commuter-network, run the way docs/scenarios.md says (`banksim incident --scenario
commuter-network`), short, tells its story: Android 4.2.0 phones on cellular lose their
signal (offline) and crawl (bandwidth), their journeys fail on the wire the way
journeys.jsonl names it, everyone else (Wi-Fi included) is served, and no transfer is lost
or doubled.

Skipped in the PostgreSQL run like the other stories (the story does not depend on the
database; the faults themselves are tested on both in tests/chaos/test_chaos_shaping.py).
"""
import json
import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.story, pytest.mark.skipif(
    bool(os.environ.get("BANKSIM_TEST_DATABASE_URL")),
    reason="scenario stories run once, on SQLite")]


def success(journeys, **match) -> float:
    rows = [j for j in journeys if all(j[k] == v for k, v in match.items())]
    assert rows, f"no journeys {match}"
    return sum(j["ok"] for j in rows) / len(rows)


def test_commuter_network_hurts_android_4_2_0_on_the_wire_and_loses_no_money(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "banksim", "incident", "--scenario", "commuter-network",
         "--users", "24", "--duration", "40s", "--think", "0.3-1.2", "--client-policy", "none",
         "--out", str(tmp_path)], capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "failed journeys by how: " in result.stdout  # the summary's breakdown
    report = json.loads((tmp_path / "report.json").read_text())
    journeys = [json.loads(line) for line in (tmp_path / "journeys.jsonl").read_text().splitlines()]
    hurt = dict(platform="android", app_version="4.2.0", network="cellular", phase="incident")
    assert success(journeys, **hurt) < 0.9
    how = {j["failure"] for j in journeys
           if not j["ok"] and all(j[k] == v for k, v in hurt.items())}
    assert {"reset_before_answer", "timeout_mid_body"} <= how, how  # offline, and a slow link
    assert success(journeys, platform="ios", phase="incident") >= 0.97
    assert success(journeys, platform="android", app_version="4.1.3", phase="incident") >= 0.97
    assert {j["network"] for j in journeys} == {"wifi", "cellular"}
    assert all(j["failure"] is None for j in journeys if j["ok"])
    hurt_rows = [f for f in report["failures"] if f["app_version"] == "4.2.0"
                 and f["platform"] == "android" and f["network"] == "cellular"]
    every_failure = sum(f["journeys"] for f in report["failures"])
    assert sum(f["journeys"] for f in hurt_rows) >= every_failure * 0.9
    assert success(journeys, platform="android", app_version="4.2.0", network="wifi",
                   phase="incident") >= 0.97  # the rules match X-Network: cellular
    integrity = report["integrity"]
    assert integrity["ok"] and integrity["duplicate_transfers"] == 0
    assert integrity["lost_acknowledged_transfers"] == 0 and integrity["ledger_balanced"]
    assert all(rule["injected"] for rule in report["chaos_rules"]
               if "tunnels" in rule["name"] or "slow link" in rule["name"])

