import pytest

from tests.helpers.journey_streams import event, slow_release
from loadtests.report import build_report
from loadtests.report.aggregate import (bucket_size_s, journey_rows, percentile, timeline_rows,
                                        users_affected, version_rows)
from loadtests.report.events import coerce_events, normalise_phases

TINY = [
    event(t_s=1.0, duration_ms=100, requests=2),
    event(t_s=2.0, duration_ms=200, requests=2),
    event(t_s=3.0, duration_ms=300, ok=False, retries=2, requests=5, error="reset"),
    event(t_s=4.0, duration_ms=400, requests=2, retries=1),
    event(t_s=5.0, duration_ms=500, requests=2, user="user2@example.com"),
    event(t_s=5.5, journey="app_open", duration_ms=50, requests=4),
]


def test_journey_rows_count_attempts_failures_and_costs():
    rows = journey_rows(coerce_events(TINY))
    assert [r["journey"] for r in rows] == ["app_open", "send_money"]  # the app's order
    send = rows[1]
    assert send == {
        "journey": "send_money", "app_version": "4.1.3", "phase": "baseline", "attempts": 5,
        "succeeded": 4, "failed": 1, "retries": 3, "requests": 13,
        # inclusive (linear) percentiles of 100..500: rank (n-1)*q from the smallest
        "p50_ms": 300.0, "p95_ms": 480.0, "p99_ms": 496.0}


@pytest.mark.parametrize("values, pct, expected", [
    ([42.0], 99, 42.0), ([1.0, 2.0], 50, 1.5), ([10.0, 20.0, 30.0], 95, 29.0)])
def test_percentile_interpolates_between_closest_ranks(values, pct, expected):
    assert percentile(values, pct) == pytest.approx(expected)


def test_percentile_of_nothing_is_none():
    assert percentile([], 95) is None


def test_versions_sort_by_pep440_not_by_text():
    events = coerce_events([event(app_version=v, user=f"u{i}") for i, v in
                            enumerate(["4.10.0", "4.9.1", "4.2.0rc1", "4.2.0", "dev-build"])])
    assert [r["app_version"] for r in version_rows(events)] == \
        ["4.2.0rc1", "4.2.0", "4.9.1", "4.10.0", "dev-build"]


def test_version_rows_count_distinct_users_and_success():
    rows = version_rows(coerce_events(TINY))
    assert rows == [{"app_version": "4.1.3", "users": 2, "journeys": 6,
                     "success_rate": round(5 / 6, 4), "failed": 1, "p95_ms": 475.0,
                     "slow": None, "users_slowed": None, "users_affected": 1,
                     "first_seen_s": 1.0, "first_phase": "baseline"}]


def test_users_affected_counts_failures_in_incident_and_recovery_only():
    events = coerce_events([
        event(user="a", phase="baseline", ok=False),      # before the release: not counted
        event(user="b", phase="incident", ok=False),
        event(user="b", phase="recovery", ok=False),      # the same user once
        event(user="c", phase="recovery", ok=False),
        event(user="d", phase="incident"),
    ])
    assert users_affected(events) == (2, 50.0)


@pytest.mark.parametrize("duration_s, bucket_s", [(30, 2.0), (180, 3.0), (600, 10.0),
                                                   (6000, 10.0)])
def test_bucket_size_is_about_a_sixtieth_of_the_run_clamped(duration_s, bucket_s):
    assert bucket_size_s(duration_s) == bucket_s


def test_timeline_buckets_by_start_time_and_version():
    events = coerce_events([event(t_s=0.5), event(t_s=1.9, ok=False), event(t_s=2.0),
                            event(t_s=2.1, app_version="4.2.0", ok=False)])
    assert timeline_rows(events, 2.0) == [
        {"t_s": 0.0, "app_version": "4.1.3", "attempts": 2, "failed": 1},
        {"t_s": 2.0, "app_version": "4.1.3", "attempts": 1, "failed": 0},
        {"t_s": 2.0, "app_version": "4.2.0", "attempts": 1, "failed": 1}]


def test_phases_are_rebuilt_from_events_when_missing():
    events = coerce_events([event(t_s=0.2), event(t_s=30.0, phase="incident"),
                            event(t_s=61.0, phase="recovery"), event(t_s=40, phase="incident")])
    assert normalise_phases([], events, 90.0) == [
        {"name": "baseline", "start_s": 0.2, "end_s": 30.0},
        {"name": "incident", "start_s": 30.0, "end_s": 61.0},
        {"name": "recovery", "start_s": 61.0, "end_s": 90.0}]


def test_policy_block_compares_cost_per_phase(incident_stream):
    s = incident_stream
    policy = build_report(s.events, s.phases, s.meta(), {}, [])["policy"]
    assert policy["name"] == "backoff"
    assert list(policy["by_phase"]) == ["baseline", "incident", "recovery"]
    assert policy["overall"]["journeys"] == len(s.events)
    assert policy["by_phase"]["incident"]["retries_per_journey"] > \
        policy["by_phase"]["baseline"]["retries_per_journey"]
    assert policy["by_phase"]["incident"]["success_rate"] < 0.9
    assert policy["overall"]["requests_per_journey"] == pytest.approx(
        sum(e["requests"] for e in s.events) / len(s.events), abs=1e-3)


def test_phases_may_be_timeline_objects():
    from loadtests.scenario import load
    from loadtests.scenario.timeline import phases_for
    assert normalise_phases(phases_for(load("bad-release"), 100), [], 100) == [
        {"name": "baseline", "start_s": 0.0, "end_s": 25.0},
        {"name": "incident", "start_s": 25.0, "end_s": 60.0},
        {"name": "recovery", "start_s": 60.0, "end_s": 100.0}]


def test_a_version_over_the_latency_slo_is_a_bad_version_and_its_slow_users_are_affected():
    s = slow_release()  # iOS 4.3.0 at p95 2-4 s, Android 4.2.2 at 13 ms, nothing fails
    report = build_report(s.events, s.phases, s.meta(incident_versions=["4.3.0"]), {}, [],
                          p95_ms=2000)
    incident = report["incident"]
    ios = {e["user"] for e in s.events if e["app_version"] == "4.3.0"}
    assert incident["bad_versions"] == ["4.3.0"]
    assert incident["users_affected"] == incident["users_slowed"] == len(ios) == 10
    assert incident["users_affected_pct"] == 50.0
    checks = {(c["app_version"], c["objective"]): c for c in incident["slo_checks"]}
    slow, fast = checks[("4.3.0", "latency")], checks[("4.2.2", "latency")]
    assert slow["breached"] and slow["value"] > 3000 and slow["limit"] == 2000
    assert not checks[("4.3.0", "success")]["breached"]  # nothing failed: only latency hurt
    assert not fast["breached"] and fast["value"] < 20
    rows = {r["app_version"]: r for r in report["versions"]}
    assert rows["4.3.0"]["users_affected"] == rows["4.3.0"]["users_slowed"] == 10
    assert rows["4.3.0"]["slow"] == rows["4.3.0"]["journeys"] and rows["4.2.2"]["slow"] == 0


def test_without_a_latency_slo_slow_journeys_hurt_nobody():
    s = slow_release()
    incident = build_report(s.events, s.phases, s.meta(), {}, [])["incident"]
    assert incident["bad_versions"] == [] and incident["users_affected"] == 0
    assert incident["users_slowed"] is None
    assert {c["objective"] for c in incident["slo_checks"]} == {"success"}


def test_slow_journeys_before_the_incident_affect_nobody():
    events = coerce_events([event(user="a", phase="baseline", duration_ms=5000),
                            event(user="b", phase="incident", duration_ms=2500),
                            event(user="c", phase="incident", duration_ms=1999)])
    assert users_affected(events, p95_ms=2000) == (1, 33.3)


def test_platform_rows_split_each_version_by_platform():
    s = slow_release()
    rows = build_report(s.events, s.phases, s.meta(), {}, [], p95_ms=2000)["platforms"]
    assert [(r["app_version"], r["platform"]) for r in rows] == [
        ("4.2.2", "android"), ("4.2.2", "ios"), ("4.3.0", "ios")]
    by = {(r["app_version"], r["platform"]): r for r in rows}
    assert by[("4.3.0", "ios")]["p95_ms"] > 2000 and by[("4.2.2", "android")]["p95_ms"] < 20
    assert by[("4.3.0", "ios")]["users_affected"] == 10
    assert by[("4.2.2", "android")]["users_affected"] == 0
    assert sum(r["journeys"] for r in rows) == len(s.events)
