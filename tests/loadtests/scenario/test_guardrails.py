"""Guardrails, live: each fires once when its condition holds (not before it is armed,
not on journeys still running), its action runs and what it did is recorded; the
preflight judges the baseline. A fake clock (the `now_s` handed in) and fake actions."""
import pytest
from tests.helpers.halt_streams import failing_journeys

from loadtests.report.detector import DetectorSettings
from loadtests.scenario import load
from loadtests.scenario.guardrails import Actions, Guardrails, preflight

SETTINGS = DetectorSettings.for_run(100)


class FakeActions(Actions):
    def __init__(self, fail: str | None = None):
        self.calls = []

        def act(kind):
            def call(name):
                self.calls.append((kind, name))
                if kind == fail:
                    raise RuntimeError("the bank said no")
                return f"{kind} done"
            return call
        super().__init__(chaos_off=act("chaos_off"), halt_rollout=act("halt_rollout"),
                         abort_run=act("abort_run"))


def guarded(rows, armed_at_s=30.0, fail=None):
    actions = FakeActions(fail)
    return Guardrails(rows, armed_at_s, SETTINGS, actions), actions


def test_nothing_fires_before_it_is_armed_or_while_healthy():
    guards, actions = guarded([{"when": "alert", "then": "chaos_off"},
                               {"when": "success_rate[window=5s]<0.8", "then": "abort_run"}])
    guards.add(failing_journeys(0, 20, bad=True))
    assert guards.check(20) == []  # failing, but before the incident
    guards.add(failing_journeys(20, 50, bad=False))
    assert guards.check(50) == [] and actions.calls == []
    assert [row["fired_at_s"] for row in guards.rows()] == [None, None]


def test_the_alert_switches_chaos_off_once_and_records_what_it_did():
    guards, actions = guarded([{"when": "alert", "then": "chaos_off"}])
    guards.add(failing_journeys(0, 30, bad=False) + failing_journeys(30, 60, bad=True))
    assert guards.check(30.3) == []  # three failures: not yet a burn
    (fired,) = guards.check(45)
    assert guards.check(50) == [] and actions.calls == [
        ("chaos_off", "guardrails[0] (alert -> chaos_off)")]
    row = guards.rows()[0]
    assert row["fired_at_s"] == 45 and row["effect"] == "chaos_off done"
    assert row["value"] == 0.0  # journey success over the alert's long window
    assert guards.done


def test_a_windowed_threshold_aborts_on_the_window_ending_now():
    guards, actions = guarded([{"when": "success_rate[window=5s]<0.8", "then": "abort_run"},
                               {"when": "p95_ms[window=5s]>5000", "then": "chaos_off"}])
    guards.add(failing_journeys(0, 40, bad=False) + failing_journeys(40, 60, bad=True))
    assert guards.check(40.5) == []  # 4 of the last 50 failed: 92 %
    (fired,) = guards.check(42)  # 19 of the last 50 failed: 62 %
    assert fired.then == "abort_run" and 0.5 < fired.value < 0.8
    assert guards.aborted_by == "guardrails[0] (success_rate[window=5s]<0.8 -> abort_run)"
    assert guards.done and guards.check(50) == []  # an aborted run fires nothing more
    assert [kind for kind, _ in actions.calls] == ["abort_run"]


def test_journeys_not_yet_finished_do_not_count():
    guards, _ = guarded([{"when": "success_rate[window=5s]<0.8", "then": "abort_run"}])
    guards.add(failing_journeys(0, 30, bad=False)
               + failing_journeys(30, 60, bad=True, duration_ms=60_000))
    assert guards.check(45) == []  # every failure ends after 90 s


def test_a_thin_window_is_not_judged():
    guards, _ = guarded([{"when": "success_rate[window=5s]<0.8", "then": "abort_run"}])
    guards.add(failing_journeys(31, 31, bad=True) + [
        {**j, "t_s": 40.0 + i} for i, j in enumerate(failing_journeys(0, 1, bad=True)[:4])])
    assert guards.check(44) == []  # four failed journeys: too few to call it 0 %


def test_an_action_that_fails_is_recorded_and_not_retried():
    guards, actions = guarded([{"when": "alert", "then": "halt_rollout"}], fail="halt_rollout")
    guards.add(failing_journeys(0, 30, bad=False) + failing_journeys(30, 60, bad=True))
    guards.check(45)
    guards.check(50)
    assert guards.rows()[0]["effect"] == "failed: the bank said no"
    assert len(actions.calls) == 1


@pytest.mark.parametrize("objective, duration_ms, fires", [
    ("success_alert", 100, True), ("latency_alert", 100, False),
    ("latency_alert", 5000, True)])
def test_one_slo_alert_watches_only_its_objective(objective, duration_ms, fires):
    settings = DetectorSettings.for_run(100, p95_ms=1000)
    guards = Guardrails([{"when": objective, "then": "chaos_off"}], 30.0, settings,
                        FakeActions())
    bad = objective == "success_alert"
    guards.add(failing_journeys(0, 30, bad=False)
               + failing_journeys(30, 60, bad=bad, duration_ms=duration_ms))
    assert bool(guards.check(59)) is fires


def test_halt_on_alert_is_shorthand_for_an_alert_guardrail_that_halts_the_rollout():
    scenario = load("staged-rollout")
    assert scenario.halt_on_alert
    assert scenario.guardrails == [{"when": "alert", "then": "halt_rollout"}]
    assert load("bad-release").guardrails == []


def test_preflight_is_on_by_default_when_a_fault_follows_a_baseline():
    assert load("bad-release").preflight is True
    assert load("login-storm").preflight is False  # no chaos step: nothing to check before


def test_preflight_fails_a_baseline_under_the_slo_and_names_why():
    baseline = failing_journeys(0, 9, bad=False) + failing_journeys(9, 10, bad=True)
    result = preflight(baseline, 10.5, slo=0.99, p95_ms=None)
    assert result["ok"] is False and result["success_rate"] == 0.9 and result["journeys"] == 100
    assert "journey success 90.0% under the SLO of 99.0%" in result["reason"]
    slow = preflight(failing_journeys(0, 10, bad=False, duration_ms=900), 11, 0.99, 500)
    assert slow["ok"] is False and slow["p95_ms"] == 900.0 and "p95 900 ms" in slow["reason"]
    good = preflight(failing_journeys(0, 10, bad=False), 11, 0.99, 500)
    assert good["ok"] is True and good["reason"] is None


def test_preflight_judges_the_steady_state_after_the_phones_arrived():
    warm_up = failing_journeys(0, 5, bad=True)  # the first opens and sign-ins
    steady = failing_journeys(5, 10, bad=False)
    assert preflight(warm_up + steady, 10.5, 0.99, None, since_s=5)["ok"] is True
    assert preflight(warm_up + steady, 10.5, 0.99, None)["ok"] is False
    early = preflight(warm_up, 5, 0.99, None, since_s=5)
    assert early["ok"] is None and "after the phones had all started at 5 s" in early["reason"]


def test_preflight_with_too_few_journeys_is_not_judged_and_says_so():
    result = preflight(failing_journeys(0, 1, bad=True)[:3], 5, 0.99, None)
    assert result["ok"] is None and "only 3 journeys finished" in result["reason"]


def test_after_chaos_off_the_timeline_starts_no_fault_again_and_a_failed_preflight_stops_it():
    from loadtests.scenario.loader import check
    from loadtests.scenario.timeline import TimelineDriver
    calls = []

    def admin(method, path, body=None):
        calls.append(f"{method} {path}")
        return {"rules": []}
    scenario = check({"name": "twice", "duration": "60s", "timeline": [
        {"at": "10s", "phase": "incident", "chaos": {"preset": "bad-release"}},
        {"at": "20s", "chaos": {"on": True}}, {"at": "30s", "chaos": {"clear": True}}]}, "t")
    driver = TimelineDriver(scenario, admin, lambda phase: None, clock=lambda: 0.0,
                            sleep=lambda s: None)
    driver.run()
    assert calls[-1] == "DELETE /admin/chaos/rules"
    calls.clear()
    driver = TimelineDriver(scenario, admin, lambda phase: None, clock=lambda: 0.0)
    driver.started_at = 0.0
    driver.apply(driver.steps[0])
    assert driver.chaos_off("guardrails[0]").startswith("chaos switched off")
    driver.apply(driver.steps[1])
    driver.apply(driver.steps[2])
    assert calls == ["POST /admin/chaos/presets/bad-release", "POST /admin/chaos/disable",
                     "GET /admin/chaos/rules", "DELETE /admin/chaos/rules"]
    assert driver.records[2]["calls"][0]["note"] == "chaos was switched off by guardrails[0]"
    calls.clear()
    phases = []
    driver = TimelineDriver(scenario, admin, phases.append, clock=lambda: 0.0,
                            sleep=lambda s: None, before_chaos=lambda: False)
    driver.run()
    assert calls == ["POST /admin/releases"]  # the setup's release; no fault at all
    assert phases == [] and driver.stopped  # and no incident phase
    assert [r["outcome"] for r in driver.records] == ["ok", "skipped"]
