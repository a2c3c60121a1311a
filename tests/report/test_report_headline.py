"""The report's first sentence: named versions and numbers, all taken from the report."""
import pytest

from tests.helpers.journey_streams import event, slow_release
from loadtests.report import build_report, headline

PHASES = [{"name": "baseline", "start_s": 0.0, "end_s": 29.7},
          {"name": "incident", "start_s": 29.7, "end_s": 60.2},
          {"name": "recovery", "start_s": 60.2, "end_s": 90.4}]


def story(bad="5.0.0", hotfix="5.0.1") -> list[dict]:
    """Two users stay on 4.9.1; three install `bad` when the incident starts, two of them
    see a failure (3 of 10 journeys fail); all three move to `hotfix` in the recovery."""
    events = [event(t_s=t, user=f"u{u}", app_version="4.9.1", phase=phase)
              for u in (1, 2) for t, phase in ((5, "baseline"), (40, "incident"),
                                               (70, "recovery"))]
    events += [event(t_s=5, user=f"u{u}", app_version="4.9.1") for u in (3, 4, 5)]
    outcomes = [("u3", False), ("u4", False), ("u3", False)] + [("u5", True)] * 7
    events += [event(t_s=31 + i, user=user, app_version=bad, phase="incident", ok=ok)
               for i, (user, ok) in enumerate(outcomes)]
    events += [event(t_s=65, user=f"u{u}", app_version=hotfix, phase="recovery")
               for u in (3, 4, 5)]
    return events


def report_of(events, phases=PHASES, thresholds=()) -> dict:
    return build_report(events, phases, {"scenario": "bad-release", "duration_s": 90.4},
                        {}, list(thresholds))


def test_report_names_the_version_the_incident_hurt():
    report = report_of(story())
    assert report["incident"]["bad_versions"] == ["5.0.0"]
    by_version = {row["app_version"]: row for row in report["versions"]}
    assert by_version["5.0.0"]["first_phase"] == "incident"
    assert by_version["5.0.1"]["first_phase"] == "recovery"


def test_headline_tells_what_happened_to_the_bad_version_in_numbers():
    text = report_of(story())["headline"]
    assert text.startswith("5.0.0 shipped at 30 s; 2 of its 3 users (67 %) saw failed "
                           "journeys; journey success on 5.0.0 fell to 70.0 % while the other "
                           "versions stayed at 100 %; ")
    assert "4.2.0" not in text  # nothing about the built-in scenario is assumed


def test_headline_gives_the_detector_timings_rounded():
    report = report_of(story())
    report["incident"].update(time_to_detect_s=23.61, recovered_at_s=113.4,
                              time_to_recover_s=53.2)
    assert headline(report).endswith("the alert fired 24 s after the incident started and "
                                     "the error rate recovered 53 s after the hotfix 5.0.1 "
                                     "shipped.")


def test_headline_says_when_the_alert_never_fired():
    report = report_of(story())
    report["incident"].update(detected_at_s=None, time_to_detect_s=None, recovered_at_s=None,
                              time_to_recover_s=None)
    assert headline(report).endswith("; the alert never fired.")


def test_headline_says_a_run_too_short_showed_nothing_of_the_incident():
    events = [e for e in story() if e["app_version"] == "4.9.1"]
    text = report_of(events)["headline"]
    assert text.startswith("The incident started at 30 s but no journey ran on a version "
                           "released during it")


def test_headline_of_a_release_that_hurt_nobody():
    events = [{**e, "ok": True} for e in story()]
    text = report_of(events)["headline"]
    assert text.startswith("5.0.0 shipped at 30 s (journey success 100 %); no version fell "
                           "below the SLO")


def test_headline_of_a_run_without_incident():
    events = [event(t_s=t, ok=t != 3) for t in range(10)]
    phases = [{"name": "baseline", "start_s": 0.0, "end_s": 10.0}]
    assert report_of(events, phases)["headline"] == (
        "No incident in this run (phases: baseline); 90.0 % of 10 journeys succeeded on "
        "1 app version(s).")


@pytest.mark.parametrize("rate, text", [(1.0, "100 %"), (0.9996, "99.9 %"), (0.898, "89.8 %"),
                                        (0.0, "0.0 %")])
def test_percentages_never_round_a_failure_away(rate, text):
    from loadtests.report.fmt import percent
    assert percent(rate) == text


@pytest.mark.parametrize("value, text", [(179.594, "180"), (44.898, "45"), (2.993, "3"),
                                         (3.74, "3.7"), (-0.04, "0"), (None, "–")])
def test_times_are_rounded_for_reading(value, text):
    from loadtests.report.fmt import secs
    assert secs(value) == text


def test_headline_names_the_hotfix_even_when_the_error_rate_never_recovered():
    report = report_of(story())
    report["incident"].update(time_to_detect_s=3.0, recovered_at_s=None, time_to_recover_s=None,
                              hotfix_shipped_at_s=60.2)
    assert headline(report).endswith("the alert fired 3 s after the incident started and the "
                                     "error rate was not back under the SLO when the run ended, "
                                     "30 s after the hotfix 5.0.1 shipped.")


def test_headline_names_a_version_that_breached_the_latency_slo():
    s = slow_release()
    report = build_report(s.events, s.phases, s.meta(incident_versions=["4.3.0"]), {}, [],
                          p95_ms=2000)
    text = report["headline"]
    assert text.startswith("4.3.0 shipped at 30 s; 10 of its 10 users (100 %) saw journeys "
                           "slower than the latency SLO of 2 s; the p95 journey time on 4.3.0 "
                           "rose to "), text
    assert "while the other versions kept their p95 at or under 16 ms" in text
    assert "no version fell below" not in text


def test_headline_of_a_release_within_both_slos_says_so():
    s = slow_release()
    events = [{**e, "duration_ms": 40.0} for e in s.events]
    text = build_report(events, s.phases, s.meta(incident_versions=["4.3.0"]), {}, [],
                        p95_ms=2000)["headline"]
    assert text.startswith("4.3.0 shipped at 30 s (journey success 100 %, p95 40 ms); no "
                           "version fell below the SLO of 99.0 % of journeys succeeding or "
                           "went over the latency SLO of p95 2 s"), text
