"""The decider: matching, cohorts, reproducible draws, bursts, ttl, kill switch, counters."""
import time

import pytest

from chaos.decisions import Decider, in_cohort

TARGET = {"app_version": ">=4.2.0,<4.2.1", "platform": ["ios"], "path": "/accounts/*",
          "methods": ["GET"]}


@pytest.mark.parametrize("request_fields, hit", [
    ({}, True),
    ({"app_version": "4.2.0rc1"}, False),
    ({"app_version": "4.1.9"}, False),
    ({"app_version": "4.2.1"}, False),
    ({"app_version": None}, False),
    ({"app_version": "banana"}, False),
    ({"platform": "android"}, False),
    ({"platform": "IOS"}, True),
    ({"platform": None}, False),
    ({"method": "POST"}, False),
    ({"path": "/accounts/acc_1/balance"}, True),
    ({"path": "/transfers"}, False),
    ({"user_id": None, "device_id": None}, True),
])
def test_match_table(engine, add_rule, make_request, request_fields, hit):
    add_rule({"type": "reset"}, match=TARGET)
    request = make_request(**{"path": "/accounts/acc_1", **request_fields})
    assert (engine.decide(request) is not None) is hit


@pytest.mark.parametrize("app_version", [None, "banana", "1.0", "4.2.0"])
def test_rules_without_app_version_match_any_version(engine, add_rule, make_request, app_version):
    add_rule({"type": "reset"})
    assert engine.decide(make_request(app_version=app_version)) is not None


@pytest.mark.parametrize("user_id, hit", [("user_a", True), ("user_b", False), (None, False)])
def test_explicit_users(engine, add_rule, make_request, user_id, hit):
    add_rule({"type": "reset"}, match={"users": ["user_a"]})
    assert (engine.decide(make_request(user_id=user_id)) is not None) is hit


def test_cohort_share_is_close_to_the_percentage_and_sticky(engine, add_rule, make_request):
    rule = add_rule({"type": "reset"}, match={"cohort_percent": 30})
    hits = {f"user_{n}" for n in range(1000)
            if engine.decide(make_request(user_id=f"user_{n}")) is not None}
    assert 0.25 <= len(hits) / 1000 <= 0.35
    again = {f"user_{n}" for n in range(1000) if in_cohort(42, rule["id"], f"user_{n}", 30)}
    assert again == hits


def test_rules_naming_one_cohort_pick_the_same_users(engine, store, add_rule, make_request):
    first = add_rule({"type": "reset"}, match={"cohort_percent": 40, "cohort": "release",
                                               "path": "/a"})
    second = add_rule({"type": "reset"}, match={"cohort_percent": 40, "cohort": "release",
                                                "path": "/b"})
    own = add_rule({"type": "reset"}, match={"cohort_percent": 40, "path": "/c"})

    def hit(path):
        return {n for n in range(500)
                if engine.decide(make_request(path=path, user_id=f"user_{n}")) is not None}

    assert first["id"] != second["id"]
    assert hit("/a") == hit("/b")
    assert hit("/a") != hit("/c") and own["match"].get("cohort") is None


def test_cohort_falls_back_to_the_device(engine, add_rule, make_request):
    rule = add_rule({"type": "reset"}, match={"cohort_percent": 50})
    devices = [f"dev-{n}" for n in range(200)]
    hit = [d for d in devices
           if engine.decide(make_request(user_id=None, device_id=d)) is not None]
    assert hit == [d for d in devices if in_cohort(42, rule["id"], d, 50)]
    assert engine.decide(make_request(user_id=None, device_id=None)) is None


def failing_ids(engine, make_request, count=200):
    return [n for n in range(count)
            if engine.decide(make_request(request_id=f"req-{n}", user_id=f"user_{n % 7}"))]


def test_same_seed_same_failures_across_instances(make_store, make_request):
    first = make_store()
    first.add_rule({"fault": {"type": "reset"}, "probability": 0.5})
    second = make_store()
    a = failing_ids(Decider(first), make_request)
    assert a == failing_ids(Decider(second), make_request)
    assert 60 <= len(a) <= 140


def test_a_different_seed_fails_different_requests(make_store, make_request):
    store = make_store(seed=42)
    store.add_rule({"fault": {"type": "reset"}, "probability": 0.5})
    before = failing_ids(Decider(store), make_request)
    reseeded = make_store(seed=43)
    assert reseeded.status()["seed"] == 43
    assert failing_ids(Decider(reseeded), make_request) != before


def test_without_request_ids_the_sequence_is_seeded(make_store, make_request):
    store = make_store()
    store.add_rule({"fault": {"type": "reset"}, "probability": 0.3})
    runs = [[bool(engine.decide(make_request())) for _ in range(100)]
            for engine in (Decider(store), Decider(make_store()))]
    assert runs[0] == runs[1] and 10 <= sum(runs[0]) <= 50


def test_probability_zero_matches_but_never_fires(engine, store, add_rule, make_request):
    rule = add_rule({"type": "reset"}, probability=0)
    assert all(engine.decide(make_request(request_id=str(n))) is None for n in range(50))
    assert store.get_rule(rule["id"])["stats"] == {"matched": 50, "injected": 0}


def test_burst_windows_follow_the_creation_time(engine, store, add_rule, make_request):
    add_rule({"type": "reset"}, pattern={"type": "burst", "on_s": 10, "off_s": 20})
    created = store.snapshot().rules[0].created_s
    for offset, on in [(0.5, True), (9.9, True), (10.1, False), (29.9, False), (30.5, True),
                       (39.5, True), (45, False), (60.2, True)]:
        assert (engine.decide(make_request(now=created + offset)) is not None) is on, offset


def test_ttl_expires_the_rule_and_it_is_deleted(engine, store, add_rule, make_request):
    add_rule({"type": "reset"}, ttl_s=60)
    created = store.snapshot().rules[0].created_s
    assert engine.decide(make_request(now=created + 59)) is not None
    assert engine.decide(make_request(now=created + 61)) is None


def test_ttl_rule_disappears_from_the_store(store, add_rule):
    add_rule({"type": "reset"}, ttl_s=0.05)
    time.sleep(0.1)
    assert store.list_rules() == []


def test_kill_switch(engine, store, add_rule, make_request):
    add_rule({"type": "reset"})
    store.set_enabled(False)
    assert engine.decide(make_request()) is None
    store.set_enabled(True)
    assert engine.decide(make_request()) is not None


def test_first_rule_that_fires_wins_in_creation_order(engine, add_rule, make_request):
    add_rule({"type": "error", "status": 500}, probability=0)
    second = add_rule({"type": "error", "status": 503})
    add_rule({"type": "error", "status": 504})
    assert engine.decide(make_request()).rule_id == second["id"]


def test_disabled_rules_are_skipped(engine, store, add_rule, make_request):
    rule = add_rule({"type": "reset"})
    store.update_rule(rule["id"], {"enabled": False})
    assert engine.decide(make_request()) is None


def test_counters_and_events(engine, store, add_rule, make_request):
    rule = add_rule({"type": "reset"}, match={"cohort_percent": 100, "platform": ["ios"]})
    for n in range(5):
        engine.decide(make_request(request_id=str(n)))
    engine.decide(make_request(platform="android"))
    assert store.get_rule(rule["id"])["stats"] == {"matched": 5, "injected": 5}
    events = store.events()
    assert len(events) == 5 and events[0]["rule_id"] == rule["id"]
    assert set(events[0]) == {"at", "rule_id", "fault", "phase", "method", "path",
                              "app_version", "platform", "user_id", "device_id"}
    assert events[0]["at"].endswith("Z") and events[0]["user_id"] == "user_1"


def test_event_log_is_bounded(make_store, make_request):
    store = make_store(events_kept=10)
    store.add_rule({"fault": {"type": "reset"}})
    engine = Decider(store)
    for batch in range(3):
        for n in range(8):
            engine.decide(make_request(path=f"/p/{batch}/{n}"))
        store.flush()
    events = store.events(limit=100)
    assert len(events) == 10 and events[0]["path"] == "/p/2/7"


def test_a_change_elsewhere_is_seen_within_the_refresh_period(make_store, make_request):
    here, elsewhere = make_store(), make_store()
    engine = Decider(here, refresh_s=0.1)
    assert engine.decide(make_request()) is None
    elsewhere.add_rule({"fault": {"type": "reset"}})
    deadline = time.monotonic() + 2
    while engine.decide(make_request()) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert engine.decide(make_request()) is not None


def test_rules_for_other_versions_are_skipped_up_front(engine, add_rule, make_request):
    for n in range(50):
        add_rule({"type": "reset"}, match={"app_version": f"=={n}.9.9"})
    anyone = add_rule({"type": "reset"}, match={"path": "/elsewhere"})
    rules = engine.current()
    assert [r.id for r in rules.for_version("4.1.3")] == [anyone["id"]]
    assert [r.id for r in rules.for_version("7.9.9")][0] == rules.rules[7].id
    assert engine.decide(make_request(app_version="4.1.3")) is None
