"""Several faults in one X-Banksim-Fault header, through the tiny app's middleware: only the
items that acted are recorded, their waits share the slot-free second, and a held one ends
when its device leaves the allow-list."""
import socket
import time

import pytest

from chaos.holding import Holds
from tests.helpers.threads import in_thread, wait_until

LAB = {"X-Device-Id": "lab-phone-1"}


@pytest.fixture
def allowed(store):
    store.set_settings({"header_faults": True, "allow": {"devices": ["lab-phone-1"],
                                                         "users": ["user_7"]}})


@pytest.fixture
def decider(app):
    return app.extensions["chaos.middleware"].decider


def recorded(store) -> list[str]:
    """The caller-chosen faults recorded so far, oldest first."""
    return [e["fault"] for e in reversed(store.events(100)) if e["rule_id"] == "header"]


def ask(client, value: str, **headers):
    return client.get("/hello", headers={**LAB, **headers, "X-Banksim-Fault": value},
                      buffered=True)  # the body read here, a dribbled one included


@pytest.mark.parametrize("value, acted, status", [
    ("error=503; latency=5ms", ["error"], 503),
    ("latency=5ms; error=502; malformed=empty", ["latency", "error"], 502),
    ("malformed=empty; error=503", ["malformed"], 200),
])
def test_items_after_the_one_that_answered_are_not_recorded(
        client, store, allowed, value, acted, status):
    answer = ask(client, value)
    assert answer.status_code == status and answer.headers["X-Chaos-Rule"] == "header"
    assert recorded(store) == acted


@pytest.mark.parametrize("value", ["reset; error=503", "timeout=5ms; error=503"])
def test_items_after_a_hang_up_are_not_recorded(client, store, allowed, value):
    with pytest.raises(ConnectionError):  # the test client surfaces the hang-up
        ask(client, value)
    assert recorded(store) == [value.split(";")[0].split("=")[0]]


def test_a_latency_the_cap_refuses_is_neither_recorded_nor_marked(
        client, store, decider, allowed):
    decider.holds = Holds(0, decider.holds.next_check_s)  # no slot: a long wait is refused
    answer = ask(client, "latency=5s")
    assert answer.status_code == 200 and answer.json["hello"] == "world"
    assert "X-Chaos-Rule" not in answer.headers
    assert recorded(store) == []
    answer = ask(client, "latency=5s; error=503")  # the error still acts, and is marked
    assert answer.status_code == 503 and answer.headers["X-Chaos-Rule"] == "header"
    assert recorded(store) == ["error"]


def test_a_timeout_the_cap_refuses_still_hangs_up_and_is_recorded(
        client, store, decider, allowed):
    decider.holds = Holds(0, decider.holds.next_check_s)
    with pytest.raises(ConnectionError):
        ask(client, "timeout=5s")
    assert recorded(store) == ["timeout"]


def test_two_short_items_over_a_second_take_a_slot(client, decider, allowed):
    """Each is under the slot-free second, together they are over it: the wait that
    passes the second needs a slot, as one long wait would."""
    slow, box = in_thread(lambda: ask(client, "latency=600ms; timeout=600ms"))
    assert wait_until(lambda: decider.holds.held == 1)  # the timeout's part holds a slot
    slow.join(10)
    assert not slow.is_alive() and isinstance(box.get("error"), ConnectionError)


@pytest.mark.parametrize("allow, headers", [
    ({"devices": ["another-phone"]}, {}),
    ({"devices": ["lab-phone-1"], "users": []}, {"X-Device-Id": "borrowed-phone",
                                                  "Authorization": "Bearer user_7.secret"}),
])
def test_leaving_the_allow_list_ends_a_held_fault(client, store, decider, allowed,
                                                  allow, headers):
    slow, box = in_thread(lambda: ask(client, "latency=30s", **headers))
    assert wait_until(lambda: decider.holds.held == 1)
    store.set_settings({"header_faults": True, "allow": allow})
    slow.join(10)
    assert not slow.is_alive()
    assert box["value"].status_code == 200 and box["value"].json["hello"] == "world"
    assert decider.holds.held == 0


def test_leaving_the_allow_list_ends_a_dribbled_body(client, store, decider, allowed):
    """A bandwidth item's many waits re-check the allow-list too; the rest comes at once."""
    slow, box = in_thread(lambda: ask(client, "bandwidth=2"))  # ~80 bytes: ~40 s
    assert wait_until(lambda: decider.holds.held == 1)
    store.set_settings({"header_faults": True, "allow": {"devices": ["another-phone"]}})
    slow.join(10)
    assert not slow.is_alive()
    assert box["value"].status_code == 200 and box["value"].json["hello"] == "world"
    assert decider.holds.held == 0


@pytest.mark.parametrize("after", ["error=503", "reset", "malformed=garbage", "cut=5"])
def test_the_kill_switch_during_a_hold_stops_the_items_queued_behind_it(
        client, store, decider, allowed, after):
    """A latency cut short by the kill switch ends the header's faults: the item after it
    never fires (the app answers, whole) and is never recorded."""
    slow, box = in_thread(lambda: ask(client, f"latency=30s; {after}"))
    assert wait_until(lambda: decider.holds.held == 1)
    store.set_enabled(False)
    slow.join(10)
    assert not slow.is_alive() and "error" not in box, box
    assert box["value"].status_code == 200 and box["value"].json["hello"] == "world"
    assert recorded(store) == ["latency"]


def test_a_dribble_after_a_latency_is_cut_where_the_shared_budget_ends(
        client, decider, allowed, monkeypatch):
    """The items share one budget: a dribble after a latency gets what is left of it, and
    a body that needs longer is cut there (the connection closes), not sent whole."""
    import chaos.header_faults as header_faults
    monkeypatch.setattr(header_faults, "MAX_HOLD_S", 1.5)  # a short budget for a fast test
    began = time.monotonic()
    with pytest.raises(ConnectionError):  # the body stops short: the client sees the close
        ask(client, "latency=1s; bandwidth=20")  # ~80 bytes at 20 B/s: 4 s, only 0.5 s left
    assert time.monotonic() - began < 3


def test_a_dribble_that_finds_no_slot_is_not_recorded(client, store, decider, allowed):
    decider.holds = Holds(0, decider.holds.next_check_s)
    answer = ask(client, "bandwidth=2")  # would take ~40 s: needs a slot, there is none
    assert answer.status_code == 200 and answer.json["hello"] == "world"
    assert recorded(store) == []


def test_a_dribble_whose_client_hung_up_frees_its_slot_within_seconds(
        live_server, decider, allowed):
    """At 1 byte a second the body's one chunk would wait a minute; a phone that gave up
    must not keep a slot that long: the dribble looks at the connection every second."""
    host, port = live_server.removeprefix("http://").split(":")
    phone = socket.create_connection((host, int(port)), timeout=10)
    phone.sendall(b"GET /hello HTTP/1.1\r\nHost: lab\r\nX-Device-Id: lab-phone-1\r\n"
                  b"X-Banksim-Fault: bandwidth=1\r\n\r\n")
    assert phone.recv(65536).startswith(b"HTTP/1.1 200")  # the head: the dribble began
    assert wait_until(lambda: decider.holds.held == 1)
    phone.close()
    assert wait_until(lambda: decider.holds.held == 0, within_s=5)
