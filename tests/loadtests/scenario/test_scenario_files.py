"""Scenario files: the built-ins load, defaults come from bad-release, overrides apply,
and a bad file is refused with every problem on its own line, named by its path."""
import pytest
import yaml

from loadtests.scenario import ScenarioError, builtin_names, check, load

MINIMAL = {"name": "mine", "timeline": [{"at": "50%", "phase": "incident",
                                         "chaos": {"preset": "flaky-network"}}]}


def problems_of(data, overrides=None) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        check(data, "test.yaml", overrides)
    return caught.value.problems


def test_the_built_ins_load_and_say_what_they_are():
    assert builtin_names() == ["android-sdk-crash", "bad-release", "commuter-network",
                               "database-failover", "late-notifications", "login-storm",
                               "payments-outage", "retry-storm", "slow-backend",
                               "staged-rollout"]
    for name in builtin_names():
        scenario = load(name)
        assert scenario.name == name and scenario.description
        assert [s.phase for s in scenario.steps() if s.phase] == ["incident", "recovery"]


def test_bad_release_is_todays_story():
    scenario = load("bad-release")
    assert scenario.incident_versions() == ["4.2.0"]
    assert [(s.at_s, s.phase) for s in scenario.steps()] == [(45, "incident"), (108, "recovery")]
    assert scenario.population == (("4.1.3", 0.7), ("4.1.2", 0.22), ("4.0.2", 0.08))
    assert scenario.adoption_of("4.2.0") == 0.35 and scenario.slo == 0.99
    assert scenario.p95_ms is None and not scenario.halt_on_alert


def test_left_out_keys_take_bad_releases_values():
    scenario = check(MINIMAL, "mine.yaml")
    bad_release = load("bad-release")
    for key in ("duration", "users", "think", "slo", "platforms", "population", "releases",
                "client_policy", "halt_on_alert"):
        assert scenario[key] == bad_release[key], key
    assert scenario.description == "" and scenario.incident_versions() == []


def test_overrides_win_and_the_definition_shows_them():
    scenario = check(MINIMAL, "mine.yaml", {"users": 7, "duration": 40, "think": (0.5, 1),
                                            "slo": 0.95, "client_policy": "naive",
                                            "adoption": 0.9, "halt_on_alert": True})
    assert (scenario.users, scenario.duration_s, scenario.think_s) == (7, 40, (0.5, 1))
    assert (scenario.slo, scenario.client_policy, scenario.halt_on_alert) == (0.95, "naive", True)
    assert scenario.definition["duration"] == "40s"
    assert all(r["adoption"] == 0.9 for r in scenario.releases())


def test_an_at_past_the_overridden_duration_is_refused():
    data = {**MINIMAL, "timeline": [{"at": "100s", "phase": "incident"}]}
    assert check(data, "x").steps()[0].at_s == 100  # 180 s by default: fine
    assert problems_of(data, {"duration": 60}) == [
        "timeline[0].at: 100 s is past the run's duration of 60 s"]


@pytest.mark.parametrize("change, expected", [
    ({"timeline": [{"at": "10%", "release": {"version": "4.x"}}]},
     "timeline[0].release.version: not a PEP 440 version: '4.x'"),
    ({"timeline": [{"at": "10%", "release": {"version": 4.2}}]},
     "timeline[0].release.version: not a version: write it as text, e.g. '4.2' in quotes"),
    ({"colour": "blue"}, "colour: unknown key"),
    ({"timeline": [{"at": "10%", "phase": "incident", "chaos": {"preset": "x", "on": True}}]},
     "timeline[0].chaos: give exactly one of preset, rules, remove, off, on, clear"),
    ({"timeline": [{"at": "10%", "chaos": {"rules": [{"name": "x", "fault": {"ms": 5}}]}}]},
     "timeline[0].chaos.rules[0].fault.type: Missing data for required field."),
    ({"timeline": [{"at": "10%", "chaos": {"rules": [{"fault": {"type": "reset"}}]}}]},
     "timeline[0].chaos.rules[0].name: Missing data for required field."),
    ({"timeline": [{"at": "soon", "phase": "x"}]},
     'timeline[0].at: use seconds ("45s") or a share of the duration ("25%")'),
    ({"timeline": [{"at": "1s"}]},
     "timeline[0]: a step needs phase, release, rollout, chaos or load"),
    ({"population": [{"version": "4.1.3", "share": 0.5}]},
     "population: shares must add up to 1, not 0.5"),
    ({"platforms": {"ios": 0.5, "android": 0.3}}, "platforms: shares must add up to 1, not 0.8"),
    ({"think": "4-1"}, "think: need 0 <= MIN <= MAX <= 60"),
    ({"thresholds": ["fast"]}, "thresholds[0]: threshold 'fast' is not"),
    ({"timeline": [{"at": "10%", "rollout": {"version": "9.0", "percent": 5}}]},
     "timeline[0].rollout.version: not published by this or an earlier step"),
])
def test_each_kind_of_problem_is_named_by_its_path(change, expected):
    lines = problems_of({**MINIMAL, **change})
    assert len(lines) == 1 and lines[0].startswith(expected), lines


def test_several_problems_are_all_reported_in_file_order():
    lines = problems_of({"name": "Bad Name", "users": 0, "timeline": [
        {"at": "10%", "phase": "incident", "release": {"version": "x", "extra": 1}},
        {"at": "5%", "phase": "recovery"}]})
    assert [line.split(":")[0] for line in lines] == [
        "name", "timeline[0].release.extra", "timeline[0].release.version", "timeline[1].at",
        "users"]


def test_name_and_timeline_are_required():
    assert set(problems_of({})) == {"name: Missing data for required field.",
                                    "timeline: Missing data for required field."}


def test_a_file_that_is_not_a_mapping_or_not_yaml_is_refused(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(ScenarioError, match="mapping"):
        load(str(path))
    path.write_text("name: [unclosed\n")
    with pytest.raises(ScenarioError, match="not YAML"):
        load(str(path))


def test_an_unknown_name_lists_the_built_ins():
    with pytest.raises(ScenarioError) as caught:
        load("no-such-scenario")
    assert "bad-release" in caught.value.problems[0]


def test_a_written_file_round_trips(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(MINIMAL))
    assert load(str(path), {"users": 3}).users == 3


def test_arrivals_default_to_bad_releases_and_one_key_keeps_the_other():
    default = load("bad-release")
    assert (default.arrival_s, default.signed_in) == (27.0, 0.9)  # 15 % of 180 s
    storm = load("login-storm")
    assert (storm.arrival_s, storm.signed_in) == (3.0, 0)
    mine = check({"name": "mine", "timeline": [], "arrivals": {"signed_in": 0.5}}, "mine.yaml")
    assert (mine.arrival_s, mine.signed_in) == (27.0, 0.5)


@pytest.mark.parametrize("arrivals, problem", [
    ({"over": "200s"}, "arrivals.over: 200 s is past the run's duration of 180 s"),
    ({"over": "soon"}, "arrivals.over: use seconds"),
    ({"signed_in": 1.5}, "arrivals.signed_in: Must be greater than or equal to 0"),
    ({"storm": True}, "arrivals.storm: unknown key"),
])
def test_bad_arrivals_are_named_by_their_path(arrivals, problem):
    with pytest.raises(ScenarioError) as caught:
        check({"name": "mine", "timeline": [], "arrivals": arrivals}, "mine.yaml")
    assert any(line.startswith(problem) for line in caught.value.problems), caught.value.problems


CATCH_ALL = {"name": "slow", "fault": {"type": "db_latency", "ms": 40}}
NARROW = {"name": "drops", "match": {"path": "/transfers"}, "fault": {"type": "db_disconnect"},
          "probability": 0.5}


def rules_step(*rules) -> dict:
    return {"name": "x", "timeline": [{"at": "25%", "phase": "incident",
                                       "chaos": {"rules": list(rules)}}]}


def test_a_rule_after_a_catch_all_is_refused_because_it_would_never_act():
    assert problems_of(rules_step(CATCH_ALL, NARROW)) == [
        "timeline[0].chaos.rules[1]: never acts: rules[0] (slow) before it takes every "
        "request; put the narrower rules first"]


@pytest.mark.parametrize("first", [
    NARROW,  # the narrow rule first: the rest of its requests fall through
    {**CATCH_ALL, "probability": 0.5},
    {**CATCH_ALL, "ttl_s": 30},
    {**CATCH_ALL, "pattern": {"type": "burst", "on_s": 5, "off_s": 5}},
    {**CATCH_ALL, "match": {"cohort_percent": 30}},
    {**CATCH_ALL, "enabled": False}])
def test_rules_that_leave_requests_for_the_next_are_fine(first):
    check(rules_step(first, {**NARROW, "name": "later"}), "test.yaml")  # no ScenarioError


def test_a_version_too_long_for_python_to_read_is_a_problem_not_a_crash():
    """A 5,000-digit release number is past int()'s limit: refused like any bad version."""
    huge = "1" * 5000
    data = {**MINIMAL, "timeline": [{"at": "10%", "release": {"version": huge}}]}
    [problem] = problems_of(data)
    assert problem.startswith("timeline[0].release.version: not a PEP 440 version")


def test_versions_too_long_to_read_sort_last_in_the_report():
    from loadtests.report.events import version_key
    assert sorted(["1" * 5000, "4.1.3"], key=version_key) == ["4.1.3", "1" * 5000]


def test_chaos_off_and_on_steps_read_as_written():
    """YAML 1.1 would read the key `off` as false; the docs write `{off: true}`."""
    from loadtests.scenario.safe_yaml import load as read_yaml
    data = read_yaml(b"timeline:\n  - {at: 10%, chaos: {off: true}}\n"
                     b"  - {at: 20%, chaos: {on: true}}\nflag: no\n")
    assert [step["chaos"] for step in data["timeline"]] == [{"off": True}, {"on": True}]
    assert data["flag"] == "no"  # a flag must be true or false: "no" is refused later
    steps = check({**MINIMAL, "timeline": data["timeline"]}, "x").steps()
    assert [step.at_s for step in steps] == [18, 36]  # both steps kept, 10 % and 20 % of 180 s


def test_a_key_written_twice_is_refused_and_a_merge_may_still_override():
    """Two `guardrails:` blocks would silently keep the last; a merged key may be overridden."""
    import pytest
    import yaml

    from loadtests.scenario.safe_yaml import load as read_yaml
    with pytest.raises(yaml.YAMLError, match="'guardrails' is written twice"):
        read_yaml(b"guardrails: [{when: alert, then: chaos_off}]\n"
                  b"guardrails: [{when: alert, then: abort_run}]\n")
    with pytest.raises(yaml.YAMLError, match="'then' is written twice"):
        read_yaml(b"guardrails: [{when: alert, then: chaos_off, then: abort_run}]\n")
    merged = read_yaml(b"base: &b {ms: 100, status: 503}\nrule: {<<: *b, ms: 200}\n")
    assert merged["rule"] == {"ms": 200, "status": 503}
