"""`banksim compare`'s arithmetic on recorded runs: no servers, synthetic report.json files
shaped like `banksim incident` writes them."""
import json
from pathlib import Path

import pytest

from loadtests.compare import runner as compare
from loadtests.compare.metrics import (bad_version_success_rate, bad_version_users, run_metrics,
                                       spread, summarise_variant, verdict)
from loadtests.compare.plan import Plan, parse_varies, seeds, variants
from loadtests.compare.summary import cell
from loadtests.scenario import load
from loadtests.run.server_load import summarise


def row(version: str, phase: str, attempts: int, succeeded: int) -> dict:
    return {"journey": "open_app", "app_version": version, "phase": phase,
            "attempts": attempts, "succeeded": succeeded, "failed": attempts - succeeded}


def write_run(run_dir: Path, rows: list[dict], scenario: str = "bad-release",
              detect: float | None = None, integrity_ok: bool = True, durations=(100, 200),
              requests_per_journey: float = 2.0, server: dict | None = None) -> Path:
    """A report directory: report.json and journeys.jsonl."""
    run_dir.mkdir(parents=True, exist_ok=True)
    report = {"scenario_definition": load(scenario).definition, "journeys": rows,
              "incident": {"release": None, "time_to_detect_s": detect,
                           "time_to_recover_s": None, "users_affected": 3,
                           "users_affected_pct": 10.0},
              "policy": {"overall": {"requests_per_journey": requests_per_journey,
                                     "retries_per_journey": 0.5}},
              "timeline": [{"t_s": 0.0, "app_version": "4.1.3", "attempts": 4, "failed": 1},
                           {"t_s": 0.0, "app_version": "4.2.0", "attempts": 4, "failed": 3}],
              "integrity": {"ok": integrity_ok}, "thresholds": [{"name": "x", "passed": True}],
              "server": server or {"requests_per_s": 10.0, "error_rate": 0.1}}
    (run_dir / "report.json").write_text(json.dumps(report))
    events = [{"user": "u1", "journey": "open_app", "ok": True, "t_s": 1.0, "duration_ms": d,
               "app_version": "4.1.3", "phase": "baseline", "platform": "ios", "steps": [],
               "retries": 0, "requests": 1} for d in durations]
    (run_dir / "journeys.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return run_dir


def test_each_metric_is_mean_min_max_over_the_runs(tmp_path):
    write_run(tmp_path / "a", [row("4.1.3", "baseline", 10, 9)], requests_per_journey=2.0)
    write_run(tmp_path / "b", [row("4.1.3", "baseline", 10, 7)], requests_per_journey=4.0)
    variant = summarise_variant(tmp_path, {"client_policy": "naive"}, ["a", "b"])
    metrics = variant["metrics"]
    assert metrics["success_rate"] == {"mean": 0.8, "min": 0.7, "max": 0.9, "n": 2}
    assert metrics["requests_per_journey"] == {"mean": 3.0, "min": 2.0, "max": 4.0, "n": 2}
    assert metrics["server_requests_per_s"]["mean"] == 10.0
    assert variant["runs"] == ["a", "b"]
    assert variant["integrity_ok"] is True


def test_a_stopped_runs_partial_report_counts_as_no_report(tmp_path):
    write_run(tmp_path / "a", [row("4.1.3", "baseline", 10, 9)])
    stopped = write_run(tmp_path / "b", [row("4.1.3", "baseline", 10, 1)])
    report = json.loads((stopped / "report.json").read_text())
    (stopped / "report.json").write_text(json.dumps({**report, "partial": True}))
    assert run_metrics(stopped) == dict.fromkeys(run_metrics(tmp_path / "a"))
    variant = summarise_variant(tmp_path, {}, ["a", "b"])
    assert variant["metrics"]["success_rate"] == {"mean": 0.9, "min": 0.9, "max": 0.9, "n": 1}
    assert variant["integrity_ok"] is False


def test_a_metric_no_run_measured_is_null_and_a_partly_measured_one_counts_its_runs(tmp_path):
    write_run(tmp_path / "a", [row("4.1.3", "baseline", 4, 4)], detect=None)
    write_run(tmp_path / "b", [row("4.1.3", "baseline", 4, 4)], detect=12.0)
    metrics = summarise_variant(tmp_path, {}, ["a", "b"])["metrics"]
    assert metrics["time_to_recover_s"] is None
    assert metrics["time_to_detect_s"] == {"mean": 12.0, "min": 12.0, "max": 12.0, "n": 1}
    assert spread([None, None]) is None


def test_a_run_without_a_report_fails_integrity_and_measures_nothing(tmp_path):
    write_run(tmp_path / "a", [row("4.1.3", "baseline", 4, 4)])
    (tmp_path / "b").mkdir()
    variant = summarise_variant(tmp_path, {}, ["a", "b"])
    assert variant["integrity_ok"] is False
    assert run_metrics(tmp_path / "b")["success_rate"] is None
    assert variant["metrics"]["success_rate"]["n"] == 1


def test_p95_is_over_every_journey_of_the_run(tmp_path):
    write_run(tmp_path / "a", [row("4.1.3", "baseline", 1, 1)], durations=range(0, 101))
    assert run_metrics(tmp_path / "a")["p95_ms"] == 95.0  # 95 % of the way from 0 to 100


def test_bad_version_success_is_the_incident_release_during_incident_and_recovery():
    rows = [row("4.2.0", "incident", 10, 5), row("4.2.0", "recovery", 10, 9),
            row("4.1.3", "incident", 10, 10), row("4.2.0", "baseline", 10, 0)]
    report = {"scenario_definition": load("bad-release").definition, "journeys": rows}
    assert bad_version_success_rate(report) == 0.7


def test_users_on_the_bad_version_are_those_who_ran_a_journey_on_it():
    versions = [{"app_version": "4.1.3", "users": 20}, {"app_version": "4.2.0", "users": 7}]
    bad_release = {"scenario_definition": load("bad-release").definition, "versions": versions}
    outage = {"scenario_definition": load("payments-outage").definition, "versions": versions}
    assert bad_version_users(bad_release) == 7
    assert bad_version_users(outage) is None


def test_bad_version_success_is_every_incident_journey_when_the_incident_publishes_none():
    rows = [row("4.1.3", "incident", 10, 5), row("4.1.2", "recovery", 10, 10),
            row("4.1.3", "baseline", 10, 0)]
    report = {"scenario_definition": load("payments-outage").definition, "journeys": rows}
    assert bad_version_success_rate(report) == 0.75


def test_overlapping_ranges_are_no_clear_difference_not_a_winner():
    a = {"mean": 0.95, "min": 0.90, "max": 0.99, "n": 3}
    b = {"mean": 0.93, "min": 0.85, "max": 0.91, "n": 3}
    sentence = verdict("success_rate", [("client_policy=none", b), ("client_policy=backoff", a)])
    assert sentence.startswith("success_rate (higher is better): no clear difference between "
                               "client_policy=backoff and client_policy=none")
    assert "clearly" not in sentence and "n=3" in sentence


def test_separate_ranges_name_the_better_one_in_the_metric_s_direction():
    few = {"mean": 2.0, "min": 1.9, "max": 2.1, "n": 2}
    many = {"mean": 6.0, "min": 5.0, "max": 7.0, "n": 2}
    sentence = verdict("requests_per_journey", [("naive", many), ("backoff", few)])
    assert sentence.startswith("requests_per_journey (lower is better): backoff is clearly lower")
    high = verdict("success_rate", [("naive", many), ("backoff", few)])
    assert high.startswith("success_rate (higher is better): naive is clearly higher")
    assert verdict("success_rate", [("naive", many), ("backoff", None)]) is None


def test_three_values_one_overlapping_the_best_and_one_clearly_worse():
    best, close, bad = ({"mean": m, "min": m - 0.02, "max": m + 0.02, "n": 3}
                        for m in (0.9, 0.89, 0.5))
    sentence = verdict("success_rate", [("none", bad), ("naive", close), ("backoff", best)])
    assert "no clear difference between backoff and naive" in sentence
    assert sentence.endswith("none clearly worse")


def test_never_clearly_with_one_run_or_unequal_runs_and_never_fired_is_an_outcome():
    one, other = {"mean": 10, "min": 10, "max": 10, "n": 1}, {"mean": 40, "min": 40, "max": 40,
                                                               "n": 1}
    single = verdict("time_to_detect_s", [("a", one, 1), ("b", other, 1)])
    assert "clearly" not in single and "a came out lower in one run each" in single
    # two runs each, but b's alert fired in only one: no winner, and the miss is counted
    fired = {"mean": 10, "min": 9, "max": 11, "n": 2}
    sentence = verdict("time_to_detect_s", [("a", fired, 2), ("b", other, 2)])
    assert "clearly" not in sentence and "no verdict" in sentence
    assert "b 40 n=1, never fired in 1 of 2" in sentence and "a in 2 of 2, b in 1 of 2" in sentence
    never = verdict("time_to_detect_s", [("a", fired, 2), ("b", None, 2)])
    assert "b never fired in 2 of 2" in never and "clearly" not in never
    assert cell("time_to_detect_s", None, 2) == "never fired in 2 of 2"
    assert cell("time_to_detect_s", other, 2) == "40 n=1, never fired in 1 of 2"
    assert cell("time_to_detect_s", fired, 2) == "10 [9-11] n=2"
    assert cell("p95_ms", None, 2) == "–"


def test_a_tie_names_no_winner():
    zero = {"mean": 0, "min": 0, "max": 0, "n": 1}
    sentence = verdict("retries_per_journey", [("none", zero, 1), ("backoff", dict(zero), 1)])
    assert "no difference" in sentence and "came out" not in sentence
    assert "clearly" not in sentence


def test_several_vary_make_the_cartesian_product_first_key_slowest():
    varies = parse_varies(["client_policy=none,backoff", "halt_on_alert=true,false"])
    assert variants(varies) == [
        {"client_policy": "none", "halt_on_alert": True},
        {"client_policy": "none", "halt_on_alert": False},
        {"client_policy": "backoff", "halt_on_alert": True},
        {"client_policy": "backoff", "halt_on_alert": False}]


def test_repeats_use_seeds_s_s_plus_1_and_run_paths_are_relative(tmp_path):
    assert seeds(7, 3) == [7, 8, 9]
    plan = Plan("staged-rollout", 7, 2, tmp_path / "out",
                parse_varies(["think=0.5-2", "rollout=10"]), {"users": 5, "duration_s": 30})
    runs = plan.runs()
    assert [(r.variant, r.seed) for r in runs] == [(0, 7), (0, 8)]
    assert [r.path for r in runs] == ["v1-think-0.5-2_rollout-10/seed-7",
                                      "v1-think-0.5-2_rollout-10/seed-8"]
    settings = plan.settings(runs[1])
    assert settings.out_dir == tmp_path / "out" / runs[1].path
    assert (settings.seed, settings.users, settings.think_s) == (8, 5, (0.5, 2.0))
    scenario = settings.scenario_of()
    assert scenario.steps()[0].release["rollout"] == 10
    assert scenario.think_s == (0.5, 2.0)


@pytest.mark.parametrize("text, problem", [
    ("colour=red", "KEY one of"), ("client_policy=sometimes", "one of none, naive, backoff"),
    ("adoption=1.5", "between 0 and 1"), ("users=ten", "an integer"),
    ("halt_on_alert=maybe", "true or false"), ("rollout=0", "between 0 and 100"),
    ("client_policy=none,none", "given twice"), ("think=4-1", "MIN <= MAX")])
def test_bad_vary_values_are_refused_naming_the_key(text, problem):
    with pytest.raises(ValueError, match=problem):
        parse_varies([text])


def test_halt_on_alert_override_reaches_the_scenario():
    assert load("staged-rollout", {"halt_on_alert": False}).halt_on_alert is False
    assert load("bad-release", {"halt_on_alert": True}).halt_on_alert is True


def test_server_load_adds_faults_the_app_never_saw_and_counts_them_as_errors():
    text = "\n".join([
        "# TYPE http_requests_total counter",
        'http_requests_total{method="GET",route="/accounts",status="200",app_version="4.1.3",'
        'platform="ios"} 90.0',
        'http_requests_total{method="POST",route="/payments",status="500",app_version="4.1.3",'
        'platform="ios"} 5.0',
        'http_requests_total{method="GET",route="/admin/audit",status="200",app_version="other",'
        'platform="other"} 7.0',
        "# TYPE chaos_injections_total counter",
        'chaos_injections_total{rule="r_before",fault="error",app_version="4.1.3"} 20.0',
        'chaos_injections_total{rule="r_after",fault="reset",app_version="4.2.0"} 3.0',
        'chaos_injections_total{rule="r_slow",fault="latency",app_version="4.1.3"} 8.0', ""])
    server = summarise(text, {"r_after"}, duration_s=10)
    # 95 answered by the app (the admin call left out) + 28 the chaos layer answered before it
    assert server["requests"] == 123
    assert server["errors_5xx"] == 5
    assert server["errors"] == 5 + 20 + 3  # a pure delay is no error
    assert server["requests_per_s"] == 12.3
    assert server["error_rate"] == round(28 / 123, 4)


def fake_incident(outcomes: dict):
    """run_incident's stand-in: writes a recorded run and returns its exit code by policy."""
    def run(settings, console=None):
        code = outcomes[settings.client_policy]
        write_run(settings.out_dir, [row("4.1.3", "baseline", 10, 9)],
                  integrity_ok=code == 0)
        return code
    return run


def test_a_comparison_writes_compare_json_and_html_and_exits_1_if_a_run_failed(
        tmp_path, monkeypatch):
    monkeypatch.setattr(compare, "run_incident", fake_incident({"none": 0, "backoff": 1}))
    plan = Plan("bad-release", 42, 2, tmp_path, parse_varies(["client_policy=none,backoff"]))
    assert compare.run_comparison(plan) == 1
    document = json.loads((tmp_path / "compare.json").read_text())
    assert (document["scenario"], document["seed"], document["repeat"]) == ("bad-release", 42, 2)
    assert [v["params"] for v in document["variants"]] == [{"client_policy": "none"},
                                                          {"client_policy": "backoff"}]
    assert [v["integrity_ok"] for v in document["variants"]] == [True, False]
    for variant in document["variants"]:
        assert all((tmp_path / run / "report.json").is_file() for run in variant["runs"])
        assert [run.rsplit("/", 1)[1] for run in variant["runs"]] == ["seed-42", "seed-43"]
    html = (tmp_path / "compare.html").read_text()
    assert "data:image/png;base64," in html
    assert "<script" not in html and "http://" not in html and "https://" not in html
    monkeypatch.setattr(compare, "run_incident", fake_incident({"none": 0, "backoff": 0}))
    assert compare.run_comparison(plan) == 0


def test_a_run_stopped_by_a_signal_stops_the_comparison_and_keeps_what_was_measured(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(compare, "run_incident", fake_incident({"none": 0, "backoff": 130}))
    plan = Plan("bad-release", 42, 1, tmp_path,
                parse_varies(["client_policy=none,backoff", "adoption=0.2,0.9"]))
    assert compare.run_comparison(plan) == 130
    document = json.loads((tmp_path / "compare.json").read_text())
    assert (document["runs_done"], document["runs_planned"]) == (2, 4)  # the 3rd was stopped
    said = " ".join(capsys.readouterr().out.split())
    assert "after 2 of 4 runs; " in said and "stopped partway" in said
    assert not (tmp_path / "v4-client_policy-backoff_adoption-0.9").exists()
