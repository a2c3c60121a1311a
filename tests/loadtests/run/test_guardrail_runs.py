"""Guardrails against a real bank: `chaos_off` ends the injections of a served bank
within a second (what its chaos events and the answers show), and an `abort_run`
guardrail stops a real `banksim incident`, which writes its report and exits 1 naming it.
"""
import datetime
import json
import os
import subprocess
import sys
import threading
import time

import pytest
import requests
from tests.helpers.halt_streams import failing_journeys

from loadtests.report.detector import DetectorSettings
from chaos.client import AdminClient
from loadtests.run.bank import BankProcess, free_port
from loadtests.scenario.guardrails import Actions, Guardrails
from loadtests.scenario.loader import check
from loadtests.scenario.timeline import TimelineDriver

pytestmark = pytest.mark.slow
TOKEN = "guardrail-admin-token"
KILL_SWITCH_S = 1.0  # the contract: no injection later than this after chaos_off returned
EVERY_REQUEST_FAILS = {"name": "everything-fails", "fault": {"type": "error", "status": 500}}


class Requests(threading.Thread):
    """A phone that keeps asking the bank: (started, chaos rule or None) per answer."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.answers, self.done = url, [], threading.Event()

    def run(self):
        session = requests.Session()
        while not self.done.is_set():
            started = time.time()
            try:
                answer = session.get(self.url + "/accounts", timeout=5)
                self.answers.append((started, answer.headers.get("X-Chaos-Rule")))
            except requests.RequestException:
                self.answers.append((started, "no answer"))
            time.sleep(0.02)


def test_chaos_off_ends_the_injections_of_a_served_bank_within_a_second(database_url,
                                                                         tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("BANKSIM_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(BANKSIM_DATABASE_URL=database_url, BANKSIM_ADMIN_TOKEN=TOKEN)
    bank = BankProcess(env, free_port(), 2, tmp_path / "serve.log")
    phone = Requests(bank.url)
    try:
        bank.wait_healthy(60)
        admin = AdminClient(bank.url, TOKEN)
        scenario = check({"name": "guarded", "duration": "60s", "timeline": [
            {"at": "0s", "phase": "incident", "chaos": {"rules": [EVERY_REQUEST_FAILS]}}],
            "guardrails": [{"when": "success_rate[window=2s]<0.5", "then": "chaos_off"}]},
            "guarded")
        driver = TimelineDriver(scenario, admin, lambda phase: None)
        driver.started_at = time.monotonic()
        driver.apply(scenario.steps()[0])
        guards = Guardrails(scenario.guardrails, 0.0, DetectorSettings.for_run(60),
                            Actions(chaos_off=driver.chaos_off, halt_rollout=None,
                                    abort_run=None))
        phone.start()
        while not any(rule for _, rule in phone.answers):  # injections are under way
            time.sleep(0.05)
        guards.add(failing_journeys(0, 3, bad=True))
        (fired,) = guards.check(3.0)
        switched_off = time.time()  # chaos_off has returned
        while not [s for s, _ in phone.answers if s > switched_off + KILL_SWITCH_S + 1]:
            time.sleep(0.05)
        phone.done.set()
        phone.join(10)
        time.sleep(1.5)  # the workers' recorders write their events every 0.5 s
        events = admin("GET", "/admin/chaos/events?limit=1000")["events"]
        status = admin("GET", "/admin/chaos")
    finally:
        phone.done.set()
        bank.stop()
    assert fired.effect.startswith("chaos switched off") and status["enabled"] is False
    injected = [s for s, rule in phone.answers if rule == events[0]["rule_id"]]
    assert injected and min(injected) < switched_off  # it was injecting before
    later = [rule for s, rule in phone.answers if s >= switched_off + KILL_SWITCH_S]
    assert later and not any(later), "a request was broken after the kill switch's second"
    last = max(datetime.datetime.fromisoformat(e["at"]).timestamp() for e in events)
    assert last < switched_off + KILL_SWITCH_S  # the bank's own record of its injections
    assert [r["step"] for r in driver.records] == ["timeline[0]", "guardrail"]


def test_an_abort_run_guardrail_stops_the_run_reports_it_and_exits_1(tmp_path):
    scenario = tmp_path / "aborted.yaml"
    scenario.write_text(
        "name: aborted\nduration: 40s\nusers: 5\nthink: 0.2-0.5\nreleases: []\n"
        "arrivals: {over: 0s}\n"
        "timeline:\n  - at: 6s\n    phase: incident\n"
        f"    chaos: {{rules: [{json.dumps(EVERY_REQUEST_FAILS)}]}}\n"
        "guardrails:\n  - {when: \"success_rate[window=3s]<0.5\", then: abort_run}\n"
        "  - {when: \"p95_ms[window=3s]>60000\", then: chaos_off}\n")
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "banksim", "incident", "--scenario",
                             str(scenario), "--client-policy", "none", "--out", str(out)],
                            capture_output=True, text=True, timeout=300)
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1, said[-3000:]
    report = json.loads((out / "report.json").read_text())
    name = "guardrails[0] (success_rate[window=3s]<0.5 -> abort_run)"
    assert report["aborted_by"] == name
    aborted, never = report["guardrails"]
    assert aborted["fired_at_s"] >= 6 and aborted["value"] < 0.5
    assert aborted["effect"].startswith("run aborted")
    assert never["fired_at_s"] is None and never["effect"] is None
    assert report["duration_s"] < 40  # the load stopped: no journeys to the planned end
    journeys = (out / "journeys.jsonl").read_text().splitlines()
    assert max(json.loads(line)["t_s"] for line in journeys) < 40
    assert report["integrity"]["ok"]  # the ledger was still audited
    assert report["preflight"]["ok"] in (True, None)  # the baseline was fine (or too short)
    assert f"FAIL: {name} aborted the run at" in said
    assert "never reached its incident" not in said


def test_a_bank_missing_its_slo_before_the_first_fault_gets_no_fault_and_exits_1(tmp_path):
    # a latency SLO of 1 ms: no bank meets it, so the baseline fails the preflight
    scenario = tmp_path / "preflight.yaml"
    scenario.write_text(
        "name: preflight\nduration: 40s\nusers: 5\nthink: 0.2-0.5\nreleases: []\n"
        "arrivals: {over: 0s}\nslo: {success: 0.99, p95_ms: 1}\n"
        "timeline:\n  - at: 6s\n    phase: incident\n"
        f"    chaos: {{rules: [{json.dumps(EVERY_REQUEST_FAILS)}]}}\n")
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "banksim", "incident", "--scenario",
                             str(scenario), "--out", str(out)],
                            capture_output=True, text=True, timeout=300)
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1, said[-3000:]
    report = json.loads((out / "report.json").read_text())
    preflight = report["preflight"]
    assert preflight["ok"] is False and preflight["p95_ms"] > 1 and preflight["journeys"] >= 5
    assert report["headline"].startswith("The bank missed its SLO before any fault was injected")
    assert report["chaos_rules"] == []  # the fault was never injected
    (step,) = report["timeline_steps"]
    assert step["outcome"] == "skipped" and "preflight" in step["calls"][0]["note"]
    assert [p["name"] for p in report["phases"]] == ["baseline"]
    assert report["duration_s"] < 40
    assert "FAIL: preflight failed: the bank missed its SLO before any fault was injected" in said
