"""Many more phones than the default, the way a user asks for them (`banksim incident
--users N`), must not make the simulator the incident: phones open the app with their
saved sessions, spread over the scenario's arrival window, so no good version fails a
journey while 4.2.0 still shows its bug. Not timed: it judges outcomes, not seconds.

It runs once, on SQLite (the phones' behaviour does not depend on the database), at a
size CI affords: five times the default 60 phones, a 40 s run.
"""
import json
import os
import subprocess
import sys
from collections import Counter

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.story, pytest.mark.skipif(
    bool(os.environ.get("BANKSIM_TEST_DATABASE_URL")), reason="runs once, on SQLite")]
PHONES = 300


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("many-phones")
    result = subprocess.run(
        [sys.executable, "-m", "banksim", "incident", "--users", str(PHONES),
         "--duration", "40s", "--adoption", "0.9", "--out", str(out)],
        capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    journeys = [json.loads(line) for line in (out / "journeys.jsonl").read_text().splitlines()]
    return report, journeys


def test_no_good_version_fails_a_journey_in_any_phase(run):
    report, journeys = run
    bad = set(report["incident"]["bad_versions"]) | {"4.2.0"}
    failed = Counter((j["app_version"], j["phase"], j["error"]) for j in journeys
                     if not j["ok"] and j["app_version"] not in bad)
    assert not failed, failed.most_common(5)
    good = {(j["app_version"], j["phase"]) for j in journeys if j["app_version"] not in bad}
    assert {phase for _, phase in good} == {"baseline", "incident", "recovery"}


def test_the_bad_release_still_shows(run):
    report, journeys = run
    on_bad = [j for j in journeys if j["app_version"] == "4.2.0" and j["phase"] == "incident"]
    assert on_bad and not all(j["ok"] for j in on_bad)
    assert report["integrity"]["ok"] and report["integrity"]["lost_acknowledged_transfers"] == 0


def test_phones_open_with_saved_sessions_and_few_type_a_password(run):
    """bad-release's arrivals: 90 % of phones signed in before the run and refresh their
    session; the rest type their password once and keep the session they get."""
    _, journeys = run
    logins = [j["user"] for j in journeys if j["journey"] == "login"]
    assert len({j["user"] for j in journeys}) == PHONES
    assert 0 < len(logins) <= 0.2 * PHONES, len(logins)
