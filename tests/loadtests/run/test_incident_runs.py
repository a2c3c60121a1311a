"""`banksim incident` when things end early: signals, runs too short, awkward tokens.

Each test is one short real run (seed, gunicorn, Locust) of 5 users.
"""
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from tests.helpers.loadrun import command_line, descendants, still_running
from rich.console import Console

from loadtests.run import incident

pytestmark = pytest.mark.slow
INCIDENT = [sys.executable, "-m", "banksim", "incident", "--users", "5"]


def test_a_run_too_short_for_its_incident_is_not_a_pass(tmp_path):
    # --adoption 0: no app installs 4.2.0 while it is out, as in a run too short for any
    # user to open the app during the incident; the outcome does not depend on timing.
    result = subprocess.run([*INCIDENT, "--duration", "10s", "--adoption", "0",
                             "--out", str(tmp_path)], capture_output=True, text=True,
                            timeout=240)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1, output[-3000:]
    assert "the run never reached its incident: no journeys on 4.2.0" in output
    assert "--duration 60s" in output
    report = json.loads((tmp_path / "report.json").read_text())
    reached = {t["name"]: t["passed"] for t in report["thresholds"]}
    assert reached == {"journeys>=1": True,
                       "journeys[app_version=4.2.0,phase=incident]>=1": False}
    assert not (tmp_path / "bank.db-wal").exists()  # checkpointed into bank.db
    assert (tmp_path / "bank-chaos.db").exists() and not (tmp_path / "bank-chaos.db-wal").exists()


class CommandLines(threading.Thread):
    """Every command line under this process while a run goes on."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.seen, self.done = pid, {}, threading.Event()

    def run(self):
        while not self.done.is_set():
            for pid, started in descendants(self.pid):
                self.seen.setdefault((pid, started), command_line(pid))
            time.sleep(0.1)


def test_an_admin_token_that_starts_with_a_dash_reaches_locust_but_no_command_line(
        tmp_path, monkeypatch, descendants_killed):
    token = "-" + "x" * 31  # secrets.token_urlsafe(24) starts with "-" once in 64 runs
    monkeypatch.setattr(incident, "new_admin_token", lambda: token)
    watcher = CommandLines(os.getpid())
    watcher.start()
    try:
        settings = incident.IncidentSettings(users=5, duration_s=10, out_dir=tmp_path)
        code = incident.run_incident(settings, console=Console(file=io.StringIO()))
    finally:
        watcher.done.set()
        watcher.join()
        descendants_killed.update(watcher.seen)
    assert code in (0, 1)  # the verdict; before the fix, "locust exited with 2"
    locust_log = (tmp_path / "locust.log").read_text()
    assert "admin call failed" not in locust_log, locust_log[-2000:]
    with sqlite3.connect(tmp_path / "bank.db") as db:  # the timeline published with it
        assert ("4.2.0",) in db.execute("SELECT version FROM releases").fetchall()
    lines = list(watcher.seen.values())
    assert any("locust" in line for line in lines) and any(" serve " in line for line in lines)
    assert not [line for line in lines if token in line]


def wait_for_the_run(process, out, stdout, timeout_s=120):
    """The run's processes once the bank and Locust are both up."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, stdout.read_text()
        found = descendants(process.pid)
        lines = [command_line(pid) for pid, _ in found]
        if ((out / "locust.log").exists() and any("-m locust" in line for line in lines)
                and any("gunicorn" in line or " serve " in line for line in lines)):
            time.sleep(3)  # Locust past its start-up, users spawning
            return descendants(process.pid)
        time.sleep(0.3)
    pytest.fail("the bank and Locust did not start")


def stop_the_run(process, out, stdout, descendants_killed, send_signal, timeout_s=60,
                 after_start_s=0.0) -> tuple[list, int]:
    """Wait until the run is up, stop it with `send_signal()`: what it had started, and its
    exit code once none of that is left (killed whatever happens, should the test fail)."""
    try:
        started = wait_for_the_run(process, out, stdout)
        descendants_killed.update(started)
        time.sleep(after_start_s)
        send_signal()
        code = process.wait(timeout=timeout_s)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    deadline = time.monotonic() + 20
    while still_running(started) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [command_line(pid) for pid, _ in still_running(started)]
    return started, code


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP],
                         ids=["TERM", "INT", "HUP"])
def test_any_stop_signal_stops_everything_the_run_started(tmp_path, sig, descendants_killed):
    out = tmp_path / "run"
    with open(tmp_path / "stdout.txt", "w") as stdout:
        process = subprocess.Popen([*INCIDENT, "--duration", "60s", "--out", str(out)],
                                   stdout=stdout, stderr=subprocess.STDOUT)
    started, code = stop_the_run(process, out, tmp_path / "stdout.txt", descendants_killed,
                                 lambda: process.send_signal(sig))
    assert len(started) >= 3  # gunicorn master and worker(s), Locust
    said = "".join((tmp_path / "stdout.txt").read_text().split())  # undo line wrapping
    assert code == 128 + sig and f"stoppedby{sig.name}" in said
    assert str(out.resolve()) in said  # the partial report directory
    report = json.loads((out / "report.json").read_text())  # what was measured, marked
    assert report["partial"] is True and report["stopped_by"] == sig.name


BROKEN_STEPS = """name: broken-steps
timeline:
  - at: 2s
    phase: incident
    chaos: {preset: no-such-preset}
  - at: 3s
    chaos:
      rules:
        - name: never-matches
          match: {app_version: "==9.9.9"}
          fault: {type: error, status: 503}
"""


@pytest.mark.parametrize("allowed", [False, True], ids=["failed-step-fails", "allowed"])
def test_a_step_the_bank_refuses_fails_the_run_on_every_screen(tmp_path, allowed):
    scenario = tmp_path / "broken-steps.yaml"
    scenario.write_text(BROKEN_STEPS)
    out = tmp_path / "out"
    result = subprocess.run([*INCIDENT, "--scenario", str(scenario), "--duration", "10s",
                             "--out", str(out), *(["--allow-failed-steps"] if allowed else [])],
                            capture_output=True, text=True, timeout=240)
    said = " ".join((result.stdout + result.stderr).split())  # undo the terminal's wrapping
    assert result.returncode == (0 if allowed else 1), said[-3000:]
    assert ("step failed: timeline[0] at 2 s: POST /admin/chaos/presets/no-such-preset: "
            "404 not_found: preset no-such-preset not found") in said
    assert ("warning: chaos rule 'never-matches' (timeline[1]) matched no request: it "
            "injected nothing") in said
    verdict = "PASS: ledger intact" if allowed else "FAIL: 1 timeline step failed (timeline[0])"
    assert said.count(verdict) == 2, said[-3000:]  # under the headline and as the last word
    if allowed:
        assert "1 timeline step failed (timeline[0]), allowed by --allow-failed-steps" in said
    report = json.loads((out / "report.json").read_text())
    assert [(s["step"], s["outcome"]) for s in report["timeline_steps"]] == [
        ("setup", "ok"), ("timeline[0]", "failed"), ("timeline[1]", "ok")]
    assert report["allow_failed_steps"] is allowed
    [rule] = report["chaos_rules"]
    assert rule["id"].startswith("rule_")
    assert {k: v for k, v in rule.items() if k != "id"} == {
        "name": "never-matches", "step": "timeline[1]", "preset": None, "matched": 0,
        "injected": 0, "removed_at_s": None}
    page = (out / "report.html").read_text()
    first_screen = page[:page.index("<h2>")]  # before the first section: what opens first
    assert 'id="failed-steps"' in first_screen and "no-such-preset" in first_screen
    assert 'id="idle-rules"' in first_screen and "never-matches" in first_screen
    assert ("FAIL" if not allowed else "PASS") in first_screen


def test_ctrl_c_writes_a_partial_report_that_never_passes(tmp_path, descendants_killed):
    """Ctrl-C in a terminal: SIGINT to the foreground process group, banksim's own."""
    out = tmp_path / "run"
    with open(tmp_path / "stdout.txt", "w") as stdout:
        process = subprocess.Popen([*INCIDENT, "--duration", "60s", "--out", str(out)],
                                   stdout=stdout, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    _, code = stop_the_run(process, out, tmp_path / "stdout.txt", descendants_killed,
                           lambda: os.killpg(process.pid, signal.SIGINT), timeout_s=90,
                           after_start_s=5)  # some journeys measured
    assert code == 130
    report = json.loads((out / "report.json").read_text())
    assert report["partial"] is True and report["stopped_by"] == "SIGINT"
    assert 0 < report["duration_s"] < 60  # what was measured, not what was planned
    assert sum(row["journeys"] for row in report["versions"]) > 0
    assert report["integrity"]["checked"] is False
    page = (out / "report.html").read_text()
    assert "PARTIAL RUN." in page and 'class="verdict fail">FAIL' in page
    said = " ".join((tmp_path / "stdout.txt").read_text().split())
    assert "PARTIAL RUN" in said and "FAIL: partial run (stopped by SIGINT" in said
    assert "PASS:" not in said  # the verdict line; a threshold row may read PASS
    rebuilt = subprocess.run([sys.executable, "-m", "banksim", "report", str(out)],
                             capture_output=True, text=True, timeout=120)
    assert rebuilt.returncode == 1, rebuilt.stderr
    assert json.loads((out / "report.json").read_text()) == report  # the same report again
