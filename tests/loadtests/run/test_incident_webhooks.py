"""`banksim incident` with `webhooks: true`: the built-in late-notifications scenario delays,
duplicates and reorders a cohort's deliveries, and the receiver's view still matches the
ledger. One short real run (seed, gunicorn, Locust, the receiver)."""
import json
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.story]


def test_late_notifications_still_match_the_ledger(tmp_path):
    result = subprocess.run([sys.executable, "-m", "banksim", "incident", "--scenario",
                             "late-notifications", "--users", "8", "--duration", "20s",
                             "--out", str(tmp_path)], capture_output=True, text=True,
                            timeout=240)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    webhooks = report["webhooks"]
    assert webhooks["emitted"] > 0 and webhooks["delivered"] == webhooks["emitted"]
    assert webhooks["undelivered"] == 0 and webhooks["bad_signatures"] == 0
    assert webhooks["integrity"] == {"ok": True, "missing_events": 0, "unknown_events": 0,
                                     "effective_per_movement_max": 1}
    assert set(webhooks["delay_ms"]) == {"p50", "p95", "max"}
    assert "receiver matches the ledger True" in " ".join(output.split())
    lines = (tmp_path / "webhook-events.jsonl").read_text().splitlines()
    assert len({json.loads(line)["event"]["id"] for line in lines}) == len(lines)
    assert len(lines) == webhooks["delivered"]
