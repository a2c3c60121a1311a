"""`banksim incident` end to end, short: the bad release must tell its story.

Runs the real command (seed, gunicorn, Locust headless, report) in a subprocess with
a compressed timeline: faster think times and app updates so tens of users show each
phase within a minute, and clients that do not retry, so the few bursts of a short
incident phase show in the success rate.
"""
import json
import re
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.story]


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("incident")
    result = subprocess.run(
        [sys.executable, "-m", "banksim", "incident", "--users", "30", "--duration", "48s",
         "--adoption", "0.9", "--think", "0.3-1.2", "--out", str(out),
         "--client-policy", "none",  # no retries: the bug shows in every journey it hits
         "--threshold", "lost_acknowledged_transfers==0",
         "--threshold", "success_rate[app_version=4.1.*,phase=incident]>=0.97"],
        capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "report:" in result.stdout
    (out / "console.test.txt").write_text(result.stdout)
    return out


@pytest.fixture(scope="module")
def report(report_dir):
    return json.loads((report_dir / "report.json").read_text())


def success(report, version_prefix, phase):
    rows = [r for r in report["journeys"]
            if r["app_version"].startswith(version_prefix) and r["phase"] == phase]
    attempts = sum(r["attempts"] for r in rows)
    assert attempts, f"no {version_prefix} journeys in {phase}"
    return sum(r["succeeded"] for r in rows) / attempts


def test_the_bad_release_hurts_only_its_users(report):
    assert success(report, "4.1.", "incident") >= 0.97
    assert success(report, "4.2.0", "incident") <= success(report, "4.1.", "incident") - 0.1
    assert success(report, "4.2.1", "recovery") >= 0.97


def test_money_is_intact_and_thresholds_pass(report):
    integrity = report["integrity"]
    assert integrity["ok"] and integrity["ledger_balanced"]
    assert integrity["lost_acknowledged_transfers"] == 0
    assert integrity["duplicate_transfers"] == 0 and integrity["negative_balances"] == 0
    assert integrity["acknowledged_transfers"] > 0
    # the two given, then the two every run meets: it measured journeys, some on 4.2.0
    # during the incident
    assert [t["passed"] for t in report["thresholds"]] == [True] * 4


def test_the_report_has_every_spec_key_and_the_files(report, report_dir):
    for key in ("scenario", "seed", "users", "duration_s", "client_policy", "phases",
                "journeys", "versions", "timeline", "incident", "integrity", "thresholds"):
        assert key in report
    assert [p["name"] for p in report["phases"]] == ["baseline", "incident", "recovery"]
    for name in ("report.html", "locust_stats.csv", "locust.html", "main-chart.png"):
        assert (report_dir / name).stat().st_size > 0
    assert "http://" not in (report_dir / "report.html").read_text().split("<body", 1)[0]


def test_the_first_screen_names_the_bad_version_and_the_verdict(report_dir, report):
    """Console and report.html open with what happened, in one sentence, then the verdict;
    times are rounded, and the bank's database leaves no write-ahead log behind."""
    console = (report_dir / "console.test.txt").read_text()
    first = console[:console.index("phases:")]
    assert "4.2.0" in first and "4.2.1" in first and "PASS" in first
    assert report["headline"] in " ".join(first.split())
    html = (report_dir / "report.html").read_text()
    assert html.index(report["headline"].split(";")[0]) < html.index("<img")
    assert not re.search(r"\d+\.\d{2,} s\b", console)
    assert not (report_dir / "bank.db-wal").exists()
