"""The timeline: phases from a scenario and a duration, and the driver's step kinds."""
import pytest

from chaos.client import AdminError
from loadtests.scenario import check, load
from loadtests.scenario.timeline import Phase, TimelineDriver, phase_at, phases_for, rules_as_run

BAD_RELEASE = load("bad-release")


def test_bad_release_phases_are_proportional_to_the_duration():
    assert phases_for(BAD_RELEASE, 180) == [Phase("baseline", 0, 45), Phase("incident", 45, 108),
                                            Phase("recovery", 108, 180)]


def test_phases_cover_the_run_without_gaps():
    phases = phases_for(BAD_RELEASE, 37.3)
    assert phases[0].start_s == 0 and phases[-1].end_s == 37.3
    assert all(a.end_s == b.start_s for a, b in zip(phases, phases[1:], strict=False))


def test_no_timeline_is_one_baseline_phase():
    assert phases_for(load("none"), 60) == [Phase("baseline", 0, 60)]


def test_a_phase_at_zero_replaces_baseline():
    scenario = check({"name": "x", "timeline": [{"at": 0, "phase": "warmup"},
                                                {"at": "50%", "phase": "incident"}]}, "x")
    assert [p.name for p in phases_for(scenario, 10)] == ["warmup", "incident"]


def test_a_non_positive_duration_is_rejected():
    with pytest.raises(ValueError):
        phases_for(BAD_RELEASE, 0)


@pytest.mark.parametrize("t_s, phase", [(-1, "baseline"), (0, "baseline"), (44.9, "baseline"),
                                        (45, "incident"), (107.9, "incident"),
                                        (108, "recovery"), (500, "recovery")])
def test_phase_at(t_s, phase):
    assert phase_at(phases_for(BAD_RELEASE, 180), t_s) == phase


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        assert seconds > 0
        self.now += seconds


class FakeAdmin:
    """Records every call; answers GET rules with two named rules; raises what it is told."""

    def __init__(self, clock, errors=None):
        self.clock, self.calls, self.errors = clock, [], errors or {}

    def __call__(self, method, path, body=None):
        self.calls.append((round(self.clock() - 1000, 3), method, path, body))
        if (method, path) in self.errors:
            raise self.errors[(method, path)]
        if (method, path) == ("GET", "/admin/chaos/rules"):
            return {"rules": [{"id": "rule_a", "name": "slow", **stats(5, 2)},
                              {"id": "rule_b", "name": "keep", **stats(3, 0)}]}
        if method == "POST" and path.startswith("/admin/chaos/presets/"):
            return {"rules": [{"id": "rule_a", "name": "slow"}]}
        if (method, path) == ("POST", "/admin/chaos/rules"):
            return {"id": "rule_a" if body["name"] == "slow" else "rule_b", "name": body["name"]}
        return {}


def stats(matched, injected):
    return {"stats": {"matched": matched, "injected": injected}}


def driver_for(timeline, errors=None, **extra):
    scenario = check({"name": "t", "duration": "20s", "releases": [], "timeline": timeline,
                      **extra}, "t")
    clock, phases = FakeClock(), []
    admin = FakeAdmin(clock, errors)
    driver = TimelineDriver(scenario, admin, phases.append, clock=clock, sleep=clock.sleep)
    return driver, admin, phases


def test_bad_release_ships_4_2_0_with_chaos_then_the_hotfix_on_time():
    clock, phases = FakeClock(), []
    admin = FakeAdmin(clock)
    TimelineDriver(BAD_RELEASE, admin, phases.append, duration_s=20, clock=clock,
                   sleep=clock.sleep).run()
    assert phases == ["incident", "recovery"]
    assert [(t, m, p) for t, m, p, _ in admin.calls] == [
        (0, "POST", "/admin/releases"),  # releases: already published (4.1.3)
        (5, "POST", "/admin/releases"), (5, "POST", "/admin/chaos/presets/bad-release"),
        (12, "POST", "/admin/releases")]
    assert admin.calls[1][3]["version"] == "4.2.0" and "rollout_percent" not in admin.calls[1][3]
    assert admin.calls[3][3]["min_supported_version"] == "4.2.1"


def test_every_step_kind_becomes_its_admin_calls_in_key_order():
    driver, admin, phases = driver_for([
        {"at": "2s", "phase": "incident", "chaos": {"rules": [
            {"name": "slow", "match": {"path": "/accounts/*"},
             "fault": {"type": "latency", "ms": 200}},
            {"name": "keep", "fault": {"type": "reset"}}]},
         "release": {"version": "5.0.0", "rollout": 5, "platform": "ios"}},
        {"at": "4s", "rollout": {"version": "5.0.0", "percent": 50}},
        {"at": "6s", "chaos": {"remove": ["slow"]}},
        {"at": "7s", "chaos": {"off": True}}, {"at": "8s", "chaos": {"on": True}},
        {"at": "9s", "chaos": {"clear": True}}])
    driver.run()
    assert phases == ["incident"]
    assert [(t, m, p) for t, m, p, _ in admin.calls] == [
        (2, "POST", "/admin/releases"), (2, "POST", "/admin/chaos/rules"),
        (2, "POST", "/admin/chaos/rules"), (4, "PATCH", "/admin/releases/5.0.0"),
        (6, "GET", "/admin/chaos/rules"), (6, "DELETE", "/admin/chaos/rules/rule_a"),
        (7, "POST", "/admin/chaos/disable"), (8, "POST", "/admin/chaos/enable"),
        (9, "GET", "/admin/chaos/rules"), (9, "DELETE", "/admin/chaos/rules")]
    assert admin.calls[0][3] == {"version": "5.0.0", "platform": "ios",
                                 "notes": "Release 5.0.0", "rollout_percent": 5}
    assert admin.calls[3][3] == {"rollout_percent": 50}
    assert driver.rollout == {"5.0.0": 50}
    assert [r["outcome"] for r in driver.records] == ["ok"] * 6
    assert driver.records[0]["phase"] == "incident" and driver.records[0]["at_s"] == 2


def test_a_remove_of_a_rule_no_step_created_fails_its_step():
    driver, admin, _ = driver_for([
        {"at": "2s", "phase": "incident", "chaos": {"rules": [
            {"name": "slow", "fault": {"type": "latency", "ms": 200}}]}},
        {"at": "6s", "chaos": {"remove": ["slow", "ghost"]}}])
    driver.run()
    assert (6, "DELETE", "/admin/chaos/rules/rule_a") in [c[:3] for c in admin.calls]
    assert [r["outcome"] for r in driver.records] == ["ok", "failed"]
    assert "no chaos rule named 'ghost'" in driver.records[1]["calls"][-1]["note"]


def test_a_failing_admin_call_is_recorded_and_the_timeline_goes_on():
    driver, admin, phases = driver_for(
        [{"at": "2s", "phase": "incident", "chaos": {"preset": "nope"}},
         {"at": "5s", "phase": "recovery", "chaos": {"clear": True}}],
        errors={("POST", "/admin/chaos/presets/nope"):
                AdminError("404 not_found: gone", 404, "not_found")})
    driver.run()
    assert phases == ["incident", "recovery"]
    assert driver.failures == ["POST /admin/chaos/presets/nope: 404 not_found: gone"]
    assert [r["outcome"] for r in driver.records] == ["failed", "ok"]


def test_a_change_to_a_halted_release_is_skipped_and_noted():
    driver, admin, _ = driver_for(
        [{"at": "1s", "phase": "incident", "release": {"version": "5.0.0", "rollout": 1}},
         {"at": "3s", "rollout": {"version": "5.0.0", "percent": 20}},
         {"at": "5s", "rollout": {"version": "5.0.0", "percent": 50}}])
    driver.started_at = admin.clock()
    for step in driver.steps[:1]:
        driver.apply(step)
    admin.clock.now += 2
    assert driver.halt("5.0.0")
    assert admin.calls[-1][1:] == ("PATCH", "/admin/releases/5.0.0", {"halted": True})
    driver.apply(driver.steps[1])
    assert driver.records[-1]["outcome"] == "skipped"
    assert "halted at 2 s" in driver.records[-1]["calls"][0]["note"]
    assert len(admin.calls) == 2  # the skipped step made no call


def test_the_banks_409_rollout_halted_is_a_skip_not_a_failure():
    driver, _, _ = driver_for(
        [{"at": "1s", "release": {"version": "5.0.0", "rollout": 1}},
         {"at": "3s", "rollout": {"version": "5.0.0", "percent": 20}}],
        errors={("PATCH", "/admin/releases/5.0.0"):
                AdminError("409 rollout_halted: halted", 409, "rollout_halted")})
    driver.run()
    assert [r["outcome"] for r in driver.records] == ["ok", "skipped"]
    assert driver.failures == []


def test_each_rule_a_step_created_keeps_its_counters_from_its_removal_or_the_end():
    driver, _, _ = driver_for([
        {"at": "2s", "phase": "incident", "chaos": {"rules": [
            {"name": "slow", "fault": {"type": "latency", "ms": 200}, "match": {"path": "/a"}},
            {"name": "keep", "fault": {"type": "reset"}}]}},
        {"at": "6s", "chaos": {"remove": ["slow"]}}])
    driver.run()
    at_end = [{"id": "rule_b", "name": "keep", **stats(9, 0)},
              {"id": "rule_x", "name": "by hand", **stats(1, 1)}]
    assert rules_as_run(driver.chaos_rules, at_end) == [
        {"id": "rule_a", "name": "slow", "step": "timeline[0]", "preset": None,
         "matched": 5, "injected": 2, "removed_at_s": 6.0},  # read by the remove step
        {"id": "rule_b", "name": "keep", "step": "timeline[0]", "preset": None,
         "matched": 9, "injected": 0, "removed_at_s": None},
        {"id": "rule_x", "name": "by hand", "step": None, "preset": None,
         "matched": 1, "injected": 1, "removed_at_s": None}]


def test_a_clear_keeps_the_counters_of_every_rule_it_removes():
    driver, _, _ = driver_for([
        {"at": "2s", "phase": "incident", "chaos": {"preset": "p"}},
        {"at": "5s", "phase": "recovery", "chaos": {"clear": True}}])
    driver.run()
    assert driver.records[1]["calls"] == [  # reading the counters is not the step's call
        {"call": "DELETE /admin/chaos/rules", "outcome": "ok", "note": None}]
    assert driver.chaos_rules == [
        {"id": "rule_a", "name": "slow", "step": "timeline[0]", "preset": "p",
         "matched": 5, "injected": 2, "removed_at_s": 5.0}]
