"""Windowed thresholds judge the worst window of the run, and a report says what its
guardrails did, what followed, and that a stop condition failed the run."""
import pytest
from tests.helpers.halt_streams import failing_journeys

from loadtests.report import build_report, verdict
from loadtests.report.events import coerce_events
from loadtests.report.thresholds import evaluate, parse_threshold

# 100 s of journeys, 10 a second, all fine but for 10 s (40-50 s) in which all fail
DIP = coerce_events(failing_journeys(0, 40, bad=False) + failing_journeys(40, 50, bad=True)
                    + failing_journeys(50, 100, bad=False))
PHASES = [{"name": "baseline", "start_s": 0, "end_s": 30},
          {"name": "incident", "start_s": 30, "end_s": 100}]


def judge(text: str, events=DIP, end_s=100.0) -> dict:
    (result,) = evaluate([parse_threshold(text)], events, {}, end_s)
    return result


@pytest.mark.parametrize("text, window_s, filters", [
    ("success_rate[window=30s]>=0.9", 30.0, ()),
    ("success_rate[app_version=4.2.*,window=2m]>=0.9", 120.0, (("app_version", ("4.2.*",)),)),
    ("p95_ms[ window = 15 ]<900", 15.0, ()),
])
def test_parses_a_window_among_the_filters(text, window_s, filters):
    threshold = parse_threshold(text)
    assert (threshold.window_s, threshold.filters) == (window_s, filters)


@pytest.mark.parametrize("text, reason", [
    ("success_rate[window=0s]>=0.9", "from 1 s to a day"),
    ("success_rate[window=0.5s]>=0.9", "from 1 s to a day"),
    ("success_rate[window=2d]>=0.9", "use seconds"),
    ("success_rate[window=fast]>=0.9", "use seconds"),
    ("success_rate[window=5s,window=9s]>=0.9", "given twice"),
    ("time_to_detect_s[window=5s]<=3", "takes no filter"),
])
def test_refuses_a_bad_window(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse_threshold(text)


def test_the_whole_run_passes_but_the_worst_window_fails():
    assert judge("success_rate>=0.85")["passed"]  # 90 % over the run
    result = judge("success_rate[window=20s]>=0.85")
    assert result["value"] == 0.5 and not result["passed"]  # 40-50 s inside a 20 s window
    assert judge("success_rate[window=10s]>=0.85")["value"] == 0.0  # the window is the dip
    assert judge("failed_journeys[window=5s]<=0")["value"] == 50  # the highest is the worst


def test_the_worst_window_follows_the_operator():
    slow = coerce_events(failing_journeys(0, 50, bad=False, duration_ms=100)
                         + failing_journeys(50, 60, bad=False, duration_ms=4000)
                         + failing_journeys(60, 100, bad=False, duration_ms=100))
    assert judge("p95_ms[window=10s]<2000", slow)["value"] == 4000  # the slowest window
    assert judge("p95_ms[window=10s]>50", slow)["value"] == 100  # the fastest one


def test_windows_lie_inside_the_run_and_thin_windows_are_not_judged():
    late = coerce_events(failing_journeys(0, 95, bad=False) + failing_journeys(95, 100, bad=True))
    assert judge("success_rate[window=10s]>=0.9", late, end_s=100)["value"] == 0.5
    few = coerce_events(failing_journeys(0, 1, bad=True)[:4])  # four journeys in all
    assert judge("success_rate[window=5s]>=0.9", few, end_s=10)["value"] is None
    assert judge("journeys[window=5s]>=1", few, end_s=10)["value"] == 0  # counts: any window


def test_nothing_to_measure_fails_as_every_threshold_does():
    result = judge("success_rate[window=200s]>=0.9")  # no window of 200 s in a 100 s run
    assert result["value"] is None and not result["passed"]


def report(**meta) -> dict:
    return build_report(DIP, PHASES, {"scenario": "s", "duration_s": 100, **meta},
                        {"ok": True}, [])


def test_each_guardrail_is_reported_with_what_followed():
    rows = [{"when": "success_rate[window=5s]<0.8", "then": "chaos_off", "fired_at_s": 43.0,
             "value": 0.7, "effect": "chaos switched off"},
            {"when": "alert", "then": "chaos_off", "fired_at_s": 41.0, "value": 0.9,
             "effect": "chaos switched off"},
            {"when": "latency_alert", "then": "abort_run", "fired_at_s": None, "value": None,
             "effect": None}]
    built = report(guardrails=rows)["guardrails"]
    assert [g["when"] for g in built] == [r["when"] for r in rows]
    windowed, alert, never = built
    # the last failure finished at 49.9 s; the first 5 s window after it under 20 % failed
    assert 50 < windowed["recovered_at_s"] <= 56
    assert windowed["recovered_after_s"] == round(windowed["recovered_at_s"] - 43.0, 3)
    assert alert["recovered_at_s"] > 50 and alert["recovered_after_s"] > 9
    assert never["fired_at_s"] is None and never["recovered_at_s"] is None


def test_a_condition_still_holding_at_the_end_did_not_recover():
    rows = [{"when": "success_rate[window=5s]<0.8", "then": "chaos_off", "fired_at_s": 43.0,
             "value": 0.7, "effect": "chaos switched off"}]
    events = coerce_events(failing_journeys(0, 40, bad=False) + failing_journeys(40, 60, True))
    built = build_report(events, PHASES, {"scenario": "s", "duration_s": 60,
                                          "guardrails": rows}, {"ok": True}, [])
    assert built["guardrails"][0]["recovered_at_s"] is None
    assert "had not recovered when the run ended" in built["headline"]


def test_an_aborted_run_fails_naming_the_guardrail():
    name = "guardrails[0] (success_rate[window=5s]<0.8 -> abort_run)"
    built = report(guardrails=[{"when": "success_rate[window=5s]<0.8", "then": "abort_run",
                                "fired_at_s": 44.0, "value": 0.4,
                                "effect": "run aborted at 44.0 s"}], aborted_by=name)
    passed, reasons = verdict(built)
    assert not passed and f"{name} aborted the run at 44 s" in reasons
    assert "guardrail success_rate[window=5s]<0.8 fired at 44 s" in built["headline"]
    assert report()["aborted_by"] is None and verdict(report())[0]


def test_a_failed_preflight_fails_the_run_and_blames_no_fault():
    pre = {"ok": False, "success_rate": 0.9, "p95_ms": 120.0, "journeys": 300, "at_s": 30.0,
           "reason": "journey success 90.0% under the SLO of 99.0%"}
    built = report(preflight=pre, aborted_by="the preflight check")
    assert built["headline"].startswith("The bank missed its SLO before any fault was "
                                        "injected: journey success 90.0 %")
    assert "no fault was injected" in built["headline"]
    passed, reasons = verdict(built)
    assert not passed
    assert reasons == ["preflight failed: the bank missed its SLO before any fault was "
                       "injected (journey success 90.0% under the SLO of 99.0%)"]
    unjudged = report(preflight={**pre, "ok": None, "reason": "only 3 journeys finished"})
    assert verdict(unjudged)[0]  # too few to judge: a warning line, not a failure
