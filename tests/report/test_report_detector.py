import pytest

from tests.helpers.journey_streams import event, make_stream
from loadtests.report.detector import DetectorSettings, detect
from loadtests.report.events import coerce_events


def run(stream, settings=None):
    settings = settings or DetectorSettings.for_run(stream.duration_s)
    return detect(coerce_events(stream.events), settings,
                  incident_start_s=stream.phase("incident")["start_s"],
                  end_s=stream.duration_s), settings


def test_fires_shortly_after_the_incident_starts(incident_stream):
    detection, settings = run(incident_stream)
    start = incident_stream.phase("incident")["start_s"]
    # 4.2.0 reaches its users within 8 s; one long window later the alert must be up
    assert start < detection.detected_at_s <= start + 8 + settings.long_window_s
    assert detection.false_alarms == 0


def test_never_fires_on_a_healthy_stream(healthy_stream):
    assert any(not e["ok"] for e in healthy_stream.events)  # a little noise, under budget
    detection, _ = run(healthy_stream)
    assert detection.alerts == []
    assert detection.detected_at_s is None and detection.recovered_at_s is None


def test_recovers_once_the_failures_stop(incident_stream):
    detection, settings = run(incident_stream)
    failures = coerce_events(e for e in incident_stream.events if not e["ok"])
    last_failure = max(e.finished_s for e in failures)
    assert last_failure <= detection.recovered_at_s <= \
        last_failure + settings.short_window_s + settings.step_s
    assert detection.alerts == [{"fired_at_s": detection.detected_at_s,
                                 "cleared_at_s": detection.recovered_at_s}]


def test_no_recovery_while_the_bad_release_keeps_failing():
    detection, _ = run(make_stream(hotfix=False))
    assert detection.detected_at_s is not None
    assert detection.recovered_at_s is None
    assert detection.alerts[-1]["cleared_at_s"] is None


def test_a_lull_between_bursts_is_not_the_recovery():
    # 10 journeys/s; failures in 20-30 s and again in 60-70 s: the first clear is undone
    events = [event(t_s=i / 10, user=f"u{i % 20}", ok=not (200 <= i < 300 or 600 <= i < 700),
                    duration_ms=50, phase="incident" if i >= 150 else "baseline")
              for i in range(1200)]
    settings = DetectorSettings(long_window_s=8, short_window_s=2, hold_s=8, step_s=1)
    detection = detect(coerce_events(events), settings, incident_start_s=15, end_s=120)
    assert [a["fired_at_s"] for a in detection.alerts] == [pytest.approx(21, abs=1),
                                                           pytest.approx(61, abs=1)]
    assert detection.detected_at_s == detection.alerts[0]["fired_at_s"]
    assert detection.recovered_at_s == pytest.approx(72, abs=1)


def test_alerts_before_the_incident_are_false_alarms():
    events = [event(t_s=i / 10, user=f"u{i % 20}", ok=not (100 <= i < 150 or 400 <= i < 500),
                    duration_ms=50, phase="incident" if i >= 300 else "baseline")
              for i in range(800)]
    settings = DetectorSettings(long_window_s=4, short_window_s=1, hold_s=4, step_s=0.5)
    detection = detect(coerce_events(events), settings, incident_start_s=30, end_s=80)
    assert detection.false_alarms == 1
    assert 40 <= detection.detected_at_s <= 42


def test_too_few_journeys_never_page():
    events = [event(t_s=1.0, ok=False), event(t_s=1.5, ok=False)]
    detection = detect(coerce_events(events), DetectorSettings.for_run(60), end_s=60)
    assert detection.alerts == []


def test_windows_scale_with_the_run_duration():
    short_run, long_run = DetectorSettings.for_run(60), DetectorSettings.for_run(600)
    assert long_run.long_window_s == 10 * short_run.long_window_s == 50
    for s in (short_run, long_run):
        assert s.short_window_s == s.long_window_s / 4
        assert s.hold_s == s.long_window_s
    # a very short run still gets two timeline buckets of history
    assert DetectorSettings.for_run(12).long_window_s == 4


def test_is_deterministic(incident_stream):
    assert run(incident_stream)[0] == run(incident_stream)[0]


@pytest.mark.parametrize("slo", [0, 1, 1.5])
def test_rejects_an_slo_outside_0_1(slo):
    with pytest.raises(ValueError, match="SLO"):
        DetectorSettings.for_run(60, slo=slo)


def slow_stream(slow_from_s=30.0, slow_until_s=70.0, duration_s=100):
    """10 journeys/s, every one succeeds; between the two times they take 1.5 s, else 0.1 s."""
    return [event(t_s=i / 10, user=f"u{i % 20}", ok=True,
                  duration_ms=1500 if slow_from_s <= i / 10 < slow_until_s else 100,
                  phase="incident" if i / 10 >= slow_from_s else "baseline")
            for i in range(duration_s * 10)]


def test_the_latency_slo_fires_on_slow_journeys_that_all_succeed():
    events = coerce_events(slow_stream())
    settings = DetectorSettings.for_run(100, p95_ms=800)
    detection = detect(events, settings, incident_start_s=30, end_s=100)
    assert detection.detected_by == "latency"
    assert 30 < detection.detected_at_s <= 30 + settings.long_window_s + 2
    assert detection.recovered_at_s is not None and detection.recovered_at_s >= 70


def test_without_a_latency_slo_slow_journeys_go_unnoticed():
    detection = detect(coerce_events(slow_stream()), DetectorSettings.for_run(100),
                       incident_start_s=30, end_s=100)
    assert detection.detected_at_s is None and detection.detected_by is None


def test_failures_are_detected_by_the_success_slo(incident_stream):
    detection, _ = run(incident_stream)
    assert detection.detected_by == "success"
