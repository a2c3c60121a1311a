"""The release timeline: phases from a duration, the admin calls, the driver."""
import pytest

from loadtests.timeline import Phase, TimelineDriver, phase_at, phases_for, schedule


def test_bad_release_phases_are_proportional_to_the_duration():
    assert phases_for(180) == [Phase("baseline", 0, 45), Phase("incident", 45, 108),
                               Phase("recovery", 108, 180)]


def test_phases_cover_the_run_without_gaps():
    phases = phases_for(37.3)
    assert phases[0].start_s == 0 and phases[-1].end_s == 37.3
    assert all(a.end_s == b.start_s for a, b in zip(phases, phases[1:], strict=False))


def test_no_timeline_is_one_baseline_phase():
    assert phases_for(60, "none") == [Phase("baseline", 0, 60)]


@pytest.mark.parametrize("duration, timeline", [(0, "bad-release"), (-5, "none"),
                                                (60, "good-release")])
def test_bad_schedules_are_rejected(duration, timeline):
    with pytest.raises(ValueError):
        phases_for(duration, timeline)


@pytest.mark.parametrize("t_s, phase", [(-1, "baseline"), (0, "baseline"), (44.9, "baseline"),
                                        (45, "incident"), (107.9, "incident"),
                                        (108, "recovery"), (500, "recovery")])
def test_phase_at(t_s, phase):
    assert phase_at(phases_for(180), t_s) == phase


def test_incident_ships_4_2_0_and_turns_chaos_on_then_recovery_ships_the_hotfix():
    steps = schedule(phases_for(100))
    assert [(s.at_s, s.phase) for s in steps] == [(0, "baseline"), (25, "incident"),
                                                  (60, "recovery")]
    incident, recovery = steps[1].calls, steps[2].calls
    assert (incident[0].path, incident[0].body["version"], incident[0].body["platform"]) == \
        ("/admin/releases", "4.2.0", "all")
    assert (incident[1].method, incident[1].path) == ("POST", "/admin/chaos/presets/bad-release")
    assert (recovery[0].path, recovery[0].body["version"]) == ("/admin/releases", "4.2.1")
    assert not steps[0].calls


def test_no_timeline_makes_no_admin_calls():
    assert all(not step.calls for step in schedule(phases_for(60, "none"), "none"))


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        assert seconds > 0
        self.now += seconds


def test_driver_announces_each_phase_on_time_and_makes_its_calls_in_order():
    clock, seen = FakeClock(), []
    driver = TimelineDriver(schedule(phases_for(20)), clock=clock, sleep=clock.sleep,
                            admin=lambda m, p, b: seen.append((clock() - 1000, m, p)),
                            on_phase=lambda name: seen.append((clock() - 1000, name)))
    driver.run()
    assert seen == [(0, "baseline"), (5, "incident"), (5, "POST", "/admin/releases"),
                    (5, "POST", "/admin/chaos/presets/bad-release"), (12, "recovery"),
                    (12, "POST", "/admin/releases")]


def test_a_failing_admin_call_is_recorded_and_the_timeline_goes_on():
    clock, phases = FakeClock(), []

    def admin(method, path, body):
        if "chaos" in path:
            raise RuntimeError("404 not found")

    driver = TimelineDriver(schedule(phases_for(10)), admin, phases.append, clock=clock,
                            sleep=clock.sleep)
    driver.run()
    assert phases == ["baseline", "incident", "recovery"]
    assert driver.failures == ["POST /admin/chaos/presets/bad-release: 404 not found"]
