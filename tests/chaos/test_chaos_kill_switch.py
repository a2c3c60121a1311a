"""The kill switch is never stale, and it cuts short slow faults in
progress; and the cap on requests a process holds in slow faults (in-process)."""
import threading
import time

from chaos.engine import RuleEngine

LATENCY = {"type": "latency", "ms": 30_000}


def in_thread(call):
    """Run `call` in a thread; return (thread, box) where box["value"] is its result."""
    box = {}
    thread = threading.Thread(target=lambda: box.update(value=call()), daemon=True)
    thread.start()
    return thread, box


def wait_until(check, within_s=5.0):
    deadline = time.monotonic() + within_s
    while not check() and time.monotonic() < deadline:
        time.sleep(0.01)
    return check()


def test_requests_wait_for_a_reload_in_progress_instead_of_using_stale_rules(
        store, make_store, add_rule, monkeypatch):
    add_rule({"type": "reset"})
    engine = RuleEngine(store, refresh_s=0.05)
    assert engine.current().enabled
    slow_snapshot = store.snapshot

    def snapshot():
        time.sleep(1.5)  # a reload of many rules on a busy process
        return slow_snapshot()
    monkeypatch.setattr(store, "snapshot", snapshot)
    make_store().set_enabled(False)  # the kill switch, thrown by another process
    thrown = time.monotonic()
    time.sleep(0.06)
    reloading, _ = in_thread(engine.current)
    time.sleep(max(0.0, 1.0 - (time.monotonic() - thrown)))  # reference: 1 s after the disable...
    assert engine.current().enabled is False  # ...no request uses the old rules
    reloading.join(5)


def test_disable_cuts_short_a_slow_fault_in_progress(engine, make_store, add_rule):
    rule = add_rule(LATENCY)
    engine.current()
    held, box = in_thread(lambda: engine.hold(rule["id"], 30))
    assert wait_until(lambda: engine.holds.held == 1)
    started = time.monotonic()
    make_store().set_enabled(False)  # another process: seen by the hold's own re-check
    held.join(10)
    assert not held.is_alive() and box["value"] is False
    assert time.monotonic() - started < 5  # docs/reference.md: within a second


def test_deleting_the_rule_cuts_short_its_holds(engine, store, add_rule):
    rule, other = add_rule(LATENCY), add_rule(LATENCY)
    engine.current()
    mine, box = in_thread(lambda: engine.hold(rule["id"], 30))
    theirs, _ = in_thread(lambda: engine.hold(other["id"], 30))
    assert wait_until(lambda: engine.holds.held == 2)
    store.delete_rule(rule["id"])
    mine.join(10)
    assert not mine.is_alive() and box["value"] is False
    assert theirs.is_alive()  # the other rule still applies
    store.set_enabled(False)
    theirs.join(10)
    assert not theirs.is_alive()


def test_holds_beyond_the_cap_end_at_once(store, add_rule):
    rule = add_rule(LATENCY)
    engine = RuleEngine(store, max_held=2)
    engine.current()
    holders = [in_thread(lambda: engine.hold(rule["id"], 30))[0] for _ in range(2)]
    assert wait_until(lambda: engine.holds.held == 2)
    started = time.monotonic()
    assert engine.hold(rule["id"], 30) is False
    assert time.monotonic() - started < 5
    store.set_enabled(False)
    for holder in holders:
        holder.join(10)
        assert not holder.is_alive()
    assert engine.holds.held == 0


def test_a_held_latency_fault_answers_at_once_when_chaos_is_disabled(app, add_rule):
    add_rule(LATENCY, match={"path": "/hello"})
    slow, box = in_thread(lambda: app.test_client().get("/hello"))
    engine = app.extensions["chaos.middleware"].engine
    assert wait_until(lambda: engine.holds.held == 1)
    assert app.test_client().post("/admin/chaos/disable").status_code == 200
    slow.join(10)
    assert not slow.is_alive()
    assert box["value"].status_code == 200 and box["value"].json["hello"] == "world"


def test_holds_of_at_most_a_second_need_no_slot(store, add_rule):
    """A short latency fault is never softened by the cap: it delays its thread no longer
    than the exempt paths' one-second promise allows."""
    rule = add_rule(LATENCY)
    engine = RuleEngine(store, max_held=1)
    engine.current()
    holder, _ = in_thread(lambda: engine.hold(rule["id"], 30))
    assert wait_until(lambda: engine.holds.held == 1)
    started = time.monotonic()
    assert engine.hold(rule["id"], 0.3) is True  # the only slot is taken: waited anyway
    assert time.monotonic() - started >= 0.3
    assert engine.hold(rule["id"], 5) is False  # a long one still needs the slot
    store.set_enabled(False)
    holder.join(10)
    assert not holder.is_alive()
