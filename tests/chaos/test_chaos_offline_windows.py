"""The offline fault's windows in the decider: one window per device, opened by the
first hit in any process and seen by every other, hitting whatever the rule's probability
says until it ends, once per steady rule and once per burst cycle."""
from chaos.decisions import Decider


def offline_rule(store, **fields) -> dict:
    return store.add_rule({"fault": {"type": "offline", "for_s": 5}, **fields})


def test_a_window_opened_in_one_process_is_kept_by_another_until_it_ends(
        make_store, make_request):
    here, there = make_store(), make_store()  # two server processes on one database
    rule = offline_rule(here)
    first, other = Decider(here), Decider(there)
    start = rule_created(here, rule)
    phone = dict(device_id="phone-1", user_id=None)
    assert first.decide(make_request(now=start + 1, **phone)).fault.type == "offline"
    here.update_rule(rule["id"], {"probability": 0.0})  # new hits: never
    assert other.decide(make_request(now=start + 3, **phone)) is not None  # its window
    assert other.decide(make_request(now=start + 3, device_id="phone-2", user_id=None)) is None
    assert other.decide(make_request(now=start + 6.5, **phone)) is None  # over: served
    here.update_rule(rule["id"], {"probability": 1.0})
    assert first.decide(make_request(now=start + 7, **phone)) is None  # a steady rule: once


def test_a_burst_rule_takes_a_device_offline_again_in_its_next_cycle(store, engine,
                                                                      make_request):
    rule = offline_rule(store, pattern={"type": "burst", "on_s": 10, "off_s": 10})
    start = rule_created(store, rule)
    phone = dict(device_id="phone-1", user_id=None)
    hits = [engine.decide(make_request(now=start + at, **phone)) is not None
            for at in (1, 4, 7, 12, 21, 24, 27)]
    assert hits == [True, True, False, False, True, True, False]


def test_a_request_without_a_device_is_reset_alone(store, engine, make_request):
    rule = offline_rule(store, probability=1.0)
    start = rule_created(store, rule)
    assert engine.decide(make_request(now=start + 1, device_id=None)) is not None
    assert engine.decide(make_request(now=start + 30, device_id=None)) is not None


def test_deleting_the_rule_deletes_its_windows(store, engine, make_request):
    from sqlalchemy import func, select

    from chaos.models import ChaosDeviceWindow
    rule = offline_rule(store)
    engine.decide(make_request(now=rule_created(store, rule) + 1, device_id="phone-1"))
    count = select(func.count()).select_from(ChaosDeviceWindow)
    with store.transaction() as session:
        assert session.scalar(count) == 1
    store.delete_rule(rule["id"])
    with store.transaction() as session:
        assert session.scalar(count) == 0


def rule_created(store, rule: dict) -> float:
    """The rule's creation time (epoch s), which its burst cycles count from."""
    from chaos import queries
    with store.transaction() as session:
        return queries.rule(session, rule["id"]).created_s
