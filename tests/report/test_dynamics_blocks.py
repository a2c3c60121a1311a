"""The report's load, goodput and metastable window, and the wasted requests counted from the
bank's own access-log timings."""
from loadtests.report import dynamics
from loadtests.report.events import JourneyEvent


def journey(t_s, ok, **kw):
    return JourneyEvent(t_s=t_s, user="u", journey="app_open", app_version="4.1.3",
                        platform="ios", phase="baseline", ok=ok, duration_ms=10, retries=0,
                        requests=1, **kw)


def test_load_counts_offered_started_dropped_and_succeeded_per_bucket():
    seconds = [{"t_s": 0, "offered": 3, "started": 2, "dropped": 1},
               {"t_s": 5, "offered": 4, "started": 4, "dropped": 0},
               {"t_s": 10, "offered": 9, "started": 9, "dropped": 0}]  # after the run's end
    block = dynamics.load_block({"seconds": seconds, "phones": 3}, [
        journey(0.5, True), journey(1, False), journey(5.5, True)], 5, 10, "open", 2.0)
    assert (block["offered"], block["started"], block["dropped"], block["completed"]) == (
        7, 6, 1, 3)
    assert [(r["t_s"], r["succeeded"]) for r in block["timeline"]] == [(0, 1), (5, 1)]


def test_in_the_closed_model_every_journey_was_offered_and_started():
    block = dynamics.load_block(None, [journey(1, True), journey(2, True)], 5, 10, "closed",
                                None)
    assert (block["offered"], block["started"], block["dropped"]) == (2, 2, 0)


def test_goodput_is_successes_per_second_of_each_phase():
    phases = [{"name": "baseline", "start_s": 0, "end_s": 10},
              {"name": "incident", "start_s": 10, "end_s": 30}]
    events = [journey(t, True) for t in range(10)] + [journey(15, True), journey(16, False)]
    assert dynamics.goodput_rows(events, phases) == [
        {"phase": "baseline", "succeeded_per_s": 1.0},
        {"phase": "incident", "succeeded_per_s": 0.05}]


def test_metastable_window_ends_when_a_whole_window_meets_the_slo():
    load = {"timeline": [{"t_s": t, "dropped": 0} for t in range(0, 60, 5)]}
    events = [journey(t, t >= 40) for t in range(20, 60)]  # the trigger ended at 20 s
    assert dynamics.metastable_s(events, load, 20, 0.95, 60) == 20
    never = [journey(t, False) for t in range(20, 60)]
    assert dynamics.metastable_s(never, load, 20, 0.95, 60) is None
    assert dynamics.metastable_s(events, load, None, 0.95, 60) is None


def test_dropped_arrivals_count_against_the_slo():
    load = {"timeline": [{"t_s": t, "dropped": 5 if t < 40 else 0} for t in range(0, 60, 5)]}
    events = [journey(t, True) for t in range(20, 60)]
    assert dynamics.metastable_s(events, load, 20, 0.95, 60) == 20


def test_wasted_requests_are_answers_slower_than_the_clients_timeout():
    lines = [{"route": "/me", "queued_ms": 4900, "duration_ms": 200},    # 5.1 s: wasted
             {"route": "/me", "queued_ms": 100, "duration_ms": 200},
             {"route": "/accounts", "queued_ms": None, "duration_ms": 6000},  # wasted
             {"route": "/admin/chaos", "queued_ms": 9000, "duration_ms": 1}]  # operator's
    assert dynamics.wasted_requests(lines, 5.0) == 2
    assert dynamics.wasted_requests(lines, 10.0) == 0


def test_policy_counts_add_up_what_the_journeys_did():
    events = [journey(1, True, wait_s=0.5, budget_denied=1),
              journey(2, False, fast_failed=2, breaker_opened=1)]
    counts = dynamics.policy_counts(events)
    assert counts["retry_wait_s"] == 0.5 and counts["budget_denied"] == 1
    assert counts["fast_failed"] == 2 and counts["breaker_opened"] == 1
    assert counts["attempts_per_journey"] == 1.0


def test_every_dynamics_key_is_documented_in_the_reference():
    from pathlib import Path

    from tests.test_reference import section, words
    documented = words(section("report.json"))
    load = dynamics.load_block(None, [journey(1, True)], 5, 10, "open", 1.0)
    keys = (set(load) | set(load["timeline"][0]) | {"goodput", "phase", "succeeded_per_s"}
            | set(dynamics.policy_counts([journey(1, True)])) | set(dynamics.client_block(
                "breaker")) | {"trigger_ended_at_s", "metastable_s", "wasted_requests"})
    assert keys - documented == set()
    compare = Path(__file__).parents[2] / "docs" / "reference.md"
    assert all(f"`{m}`" in compare.read_text() for m in (
        "goodput_per_s", "dropped", "wasted_requests", "metastable_s"))


def test_compare_varies_the_client_the_load_model_and_the_rate():
    import pytest

    from loadtests.compare.plan import parse_varies
    assert parse_varies(["client=naive,budgeted", "load_model=closed,open", "rate=2,4.5"]) == {
        "client": ["naive", "budgeted"], "load_model": ["closed", "open"], "rate": [2.0, 4.5]}
    for bad, word in (("client=naive,aggressive", "client"), ("rate=0", "rate"),
                      ("load_model=half", "load_model")):
        with pytest.raises(ValueError, match=word):
            parse_varies([bad])
    with pytest.raises(ValueError, match="synonym"):
        parse_varies(["client=naive,none", "client_policy=backoff,none"])


def test_never_recovering_is_clearly_worse_than_recovering_every_time():
    from loadtests.compare.metrics import verdict
    recovered = {"mean": 7.3, "min": 0, "max": 20, "n": 3}
    sentence = verdict("metastable_s", [("client=naive", None, 3),
                                        ("client=budgeted", recovered, 3)])
    assert sentence.startswith("metastable_s (lower is better): client=budgeted is clearly "
                               "better") and "client=naive did not recover" in sentence
    partly = {"mean": 7.3, "min": 0, "max": 20, "n": 2}
    assert "no verdict" in verdict("metastable_s", [("a", None, 3), ("b", partly, 3)])


def test_a_run_without_a_trigger_did_not_fail_to_recover(tmp_path):
    """metastable_s is null both when a run never recovered and when it had no trigger
    (no step starts `recovery`): only the first is an outcome."""
    import json

    from loadtests.compare.metrics import runs_for, summarise_variant, verdicts
    from loadtests.compare.summary import cell
    variants = []
    for name, ended in (("a", None), ("b", None)):
        run = tmp_path / name
        run.mkdir()
        (run / "report.json").write_text(json.dumps({
            "duration_s": 60, "journeys": [], "incident": {"trigger_ended_at_s": ended,
                                                            "metastable_s": None}}))
        assert summarise_variant(tmp_path, {}, [name])["triggered"] == 0
        variants.append(summarise_variant(tmp_path, {"client": name}, [name]))
        variants[-1]["runs"] = [name, name]  # two runs each, both without a trigger
        variants[-1]["reported"], variants[-1]["triggered"] = 2, 0
    assert runs_for(variants[0], "metastable_s") == 0 and runs_for(variants[0], "dropped") == 2
    assert cell("metastable_s", None, runs_for(variants[0], "metastable_s")) == "–"
    assert not any(line.startswith("metastable_s") for line in verdicts(variants)["client"])
    variants[0]["triggered"] = variants[1]["triggered"] = 2  # now both had one: an outcome
    assert cell("metastable_s", None, 2) == "did not recover in 2 of 2"
    for ended, judged in ((35.0, 1), (55.0, 0)):  # 25 s after the trigger, or only 5
        (tmp_path / "a" / "report.json").write_text(json.dumps({
            "duration_s": 60, "journeys": [], "incident": {"trigger_ended_at_s": ended,
                                                            "metastable_s": None}}))
        assert summarise_variant(tmp_path, {}, ["a"])["triggered"] == judged


def test_the_dynamics_are_said_in_words_for_the_summary_and_the_page():
    from loadtests.report.dynamics import dynamics_lines
    report = {"load": {"model": "open", "rate": 4.0, "offered": 160, "started": 150,
                       "dropped": 10, "completed": 148},
              "goodput": [{"phase": "baseline", "succeeded_per_s": 3.9},
                          {"phase": "recovery", "succeeded_per_s": 0.0}],
              "incident": {"trigger_ended_at_s": 35.0, "metastable_s": None},
              "policy": {"name": "naive", "attempts_per_journey": 6.2,
                         "retries_per_journey": 2.2, "retry_wait_s": 0, "fast_failed": 0,
                         "budget_denied": 0},
              "server": {"wasted_requests": 909}, "duration_s": 90.0}
    lines = dynamics_lines(report)
    assert lines[0].endswith("160 arrivals offered, 150 started, 10 dropped (no free phone), "
                             "148 completed")
    assert lines[1] == "goodput: baseline 3.9/s, recovery 0/s"
    assert "did not recover within the run" in lines[2]
    assert lines[3].endswith("909 requests answered after the phone gave up")
    # a run that ended 5 s after the trigger had no whole window to judge recovery by
    assert "too soon after it to judge recovery" in dynamics_lines({**report,
                                                                    "duration_s": 40.0})[2]
    report["incident"]["metastable_s"] = 7.5
    assert dynamics_lines(report)[2].endswith("back within the SLO 7.5 s later")
    assert dynamics_lines({"load": {"model": "closed"}}) == []


def test_an_open_model_run_that_dropped_more_than_the_slo_allows_fails():
    """Arrivals that found no free phone are users who could not start: past the SLO's
    error budget the run fails, however well the few who started did."""
    from loadtests.report.summary import verdict
    report = {"slo": 0.99, "integrity": {"ok": True}, "thresholds": [],
              "load": {"model": "open", "offered": 1000, "dropped": 50}}
    passed, reasons = verdict(report)
    assert not passed and "5.0% of the arrivals found no free phone (dropped)" in reasons
    report["load"]["dropped"] = 5
    assert verdict(report)[0]
    assert verdict({**report, "load": {"model": "closed", "offered": 9, "dropped": 9}})[0]
