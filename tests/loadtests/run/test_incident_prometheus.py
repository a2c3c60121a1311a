"""`banksim incident --prometheus`: a real Prometheus beside the replay, its alerts in the
report, refusals before anything starts, and nothing of it left behind."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.helpers.loadrun import command_line, descendants, still_running

INCIDENT = [sys.executable, "-m", "banksim", "incident"]
needs_prometheus = pytest.mark.skipif(
    not (shutil.which("prometheus") and shutil.which("promtool")),
    reason="prometheus/promtool are not on PATH (Debian: apt-get install prometheus)")
BROKEN_RULES = """groups:
  - name: mine
    rules:
      - alert: TooManyErrors
        expr: sum(rate(http_requests_total{status=~"5.."}[5m]) > 1
"""
DATA_DIR = re.compile(r"data in (\S+), removed at the end")


def said(result) -> str:
    return " ".join((result.stdout + result.stderr).split())  # undo the terminal's wrapping


@needs_prometheus
@pytest.mark.parametrize("command, content, words", [
    ("incident", BROKEN_RULES.encode(), "parse error: unclosed left parenthesis"),
    ("compare", BROKEN_RULES.encode(), "parse error: unclosed left parenthesis"),
    ("incident", b"\xff\xfe\x00 not yaml \xe6", "cannot unmarshal"),
], ids=["incident", "compare", "binary"])
def test_a_rules_file_promtool_rejects_is_refused_before_anything_starts(tmp_path, command,
                                                                         content, words):
    rules = tmp_path / "mine.yml"
    rules.write_bytes(content)
    out = tmp_path / "out"
    extra = ["--vary", "client_policy=none,backoff"] if command == "compare" else []
    result = subprocess.run([sys.executable, "-m", "banksim", command, *extra,
                             "--alert-rules", str(rules), "--out", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, said(result)
    assert f"--alert-rules {rules}: promtool rejects it" in said(result)
    assert words in said(result)  # promtool's own words
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_without_prometheus_on_path_the_error_names_the_package(tmp_path):
    bare = tmp_path / "bin"  # a PATH where nothing is installed
    bare.mkdir()
    out = tmp_path / "out"
    result = subprocess.run([*INCIDENT, "--prometheus", "--out", str(out)], capture_output=True,
                            text=True, timeout=120, env={**os.environ, "PATH": str(bare)})
    assert result.returncode == 2, said(result)
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and "apt-get install prometheus" in errors[0], result.stderr
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (["--threshold", "alert[BankVersionErrorBudgetBurn]<=60s"],
     "alert[BankVersionErrorBudgetBurn] needs --prometheus"),
    (["--prometheus", "--threshold", "alert[NoSuchAlert]<=60s"],
     "no alerting rule 'NoSuchAlert'"),
    (["--threshold", "alert[X]<=1m"], "is not alert[NAME]OP SECONDS"),
])
def test_an_alert_threshold_that_cannot_work_is_refused(tmp_path, args, message):
    if "--prometheus" in args and not shutil.which("promtool"):
        pytest.skip("promtool is not on PATH (Debian: apt-get install prometheus)")
    result = subprocess.run([*INCIDENT, *args, "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and message in said(result), said(result)
    assert not (tmp_path / "out").exists()


def prometheus_left(data_dir: str) -> list[str]:
    """Command lines of live processes that use the run's Prometheus directory."""
    return [command_line(pid) for pid, _ in descendants(1) if data_dir in command_line(pid)]


@pytest.mark.slow
@pytest.mark.story
@pytest.mark.database_incidental
@needs_prometheus
def test_the_per_version_alert_fires_for_the_bad_release_alone(tmp_path):
    out = tmp_path / "run"
    result = subprocess.run(
        [*INCIDENT, "--users", "20", "--duration", "60s", "--prometheus",
         "--alert-speedup", "60", "--threshold", "alert[BankVersionErrorBudgetBurn]<=60s",
         "--out", str(out)], capture_output=True, text=True, timeout=420)
    text = said(result)
    assert result.returncode == 0, text[-3000:]
    report = json.loads((out / "report.json").read_text())
    burns = [a for a in report["alerts"] if a["name"] == "BankVersionErrorBudgetBurn"]
    fired = {a["labels"]["app_version"] for a in burns if a["fired"]}
    assert fired == {"4.2.0"}, burns  # the bad release, none of the good versions
    (bad,) = [a for a in burns if a["fired"]]
    assert set(bad) >= {"name", "labels", "fired", "first_fired_at_s", "since_incident_s",
                        "resolved_at_s"}
    assert 0 <= bad["since_incident_s"] <= 60
    assert bad["first_fired_at_s"] >= report["incident"]["incident_started_at_s"]
    names = {a["name"] for a in report["alerts"]}
    assert {"BankLatencyBudgetBurn", "ChaosEnabled", "BankErrorBudgetBurn"} <= names
    (threshold,) = [t for t in report["thresholds"] if t["name"].startswith("alert[")]
    assert threshold["passed"] and threshold["value"] == bad["since_incident_s"]
    assert "prometheus alerts:" in text
    assert "BankVersionErrorBudgetBurn{app_version=4.2.0}: fired at" in text
    assert 'id="prometheus-alerts"' in (out / "report.html").read_text()
    (data_dir,) = DATA_DIR.findall(text)
    assert not Path(data_dir).exists() and not prometheus_left(data_dir)


@pytest.mark.slow
@pytest.mark.database_incidental
@needs_prometheus
def test_sigterm_stops_prometheus_and_removes_its_data(tmp_path):
    out, log = tmp_path / "run", tmp_path / "stdout.txt"
    with open(log, "w") as stdout:
        process = subprocess.Popen([*INCIDENT, "--users", "5", "--duration", "60s",
                                    "--prometheus", "--out", str(out)],
                                   stdout=stdout, stderr=subprocess.STDOUT)
    seen: set = set()
    try:
        deadline = time.monotonic() + 120
        while not DATA_DIR.search(" ".join(log.read_text().split())):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        seen = descendants(process.pid)
        assert any("prometheus" in command_line(pid) for pid, _ in seen)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=90) == 128 + signal.SIGTERM
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid, _ in still_running(seen):
            os.kill(pid, signal.SIGKILL)
    (data_dir,) = DATA_DIR.findall(" ".join(log.read_text().split()))
    assert not still_running(seen)
    assert not Path(data_dir).exists() and not prometheus_left(data_dir)
