"""Delivery chaos: each webhook_* fault does what it says, and the receiver's view still
matches the ledger (the report's webhooks integrity check)."""
import datetime
import time

import pytest

from loadtests.receiver.integrity import webhooks_block
from tests.helpers.webhooks import drain, pay, start_receiver


@pytest.fixture
def hook(client, admin_headers, alice, bob):
    """An admin webhook to a receiver; its id, the receiver, and when it was made."""
    since = datetime.datetime.now(datetime.timezone.utc).isoformat()
    server = start_receiver(hold_s=0.2)
    created = client.post("/admin/webhooks", json={"url": server.url}, headers=admin_headers)
    assert created.status_code == 201, created.json
    server.receiver.secret = created.json["secret"]
    yield created.json["id"], server, since
    server.stop()




def deliveries(client, admin_headers, hook_id):
    return client.get(f"/admin/webhooks/{hook_id}/deliveries",
                      headers=admin_headers).json["deliveries"]


def settle(app, client, admin_headers, hook_id):
    drain(app, lambda: {d["state"] for d in deliveries(client, admin_headers, hook_id)}
          == {"delivered"})


def block(client, admin_headers, hook, receiver):
    hook_id, server, since = hook
    ledger = client.get("/admin/ledger", query_string={"since": since, "limit": 1000},
                        headers=admin_headers).json["transactions"]
    server.receiver.close()  # writes what it holds; the counts stay
    return webhooks_block(server.receiver.summary(), server.receiver.events,
                          deliveries(client, admin_headers, hook_id), ledger)


def injected(client, admin_headers, fault, at_least: int = 1):
    """The recorded injections of `fault`, once there are `at_least` (the chaos recorder
    writes events down in batches, about every half second: a loaded machine may take
    longer); what there is after 15 s otherwise."""
    deadline = time.monotonic() + 15
    while True:
        events = client.get("/admin/chaos/events", headers=admin_headers).json["events"]
        found = [e for e in events if e["fault"] == fault]
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_webhook_delay_holds_each_delivery_back(app, client, admin_headers, rule, hook,
                                                alice, bob):
    rule({"type": "webhook_delay", "ms": 400})
    pay(alice)
    pay(bob)
    settle(app, client, admin_headers, hook[0])
    latencies = [d["latency_ms"] for d in deliveries(client, admin_headers, hook[0])]
    assert len(latencies) == 2 and min(latencies) >= 400
    report = block(client, admin_headers, hook, hook[1])
    assert report["integrity"]["ok"], report
    assert len(injected(client, admin_headers, "webhook_delay", at_least=2)) >= 2


def test_webhook_duplicate_delivers_each_event_that_many_times(app, client, admin_headers,
                                                               rule, hook, alice):
    rule({"type": "webhook_duplicate", "times": 3}, match={"events": ["transaction.created"]})
    pay(alice)
    pay(alice)
    settle(app, client, admin_headers, hook[0])
    assert [d["attempts"] for d in deliveries(client, admin_headers, hook[0])] == [3, 3]
    report = block(client, admin_headers, hook, hook[1])
    assert report["duplicates_received"] == 4
    assert report["integrity"] == {"ok": True, "missing_events": 0, "unknown_events": 0,
                                   "effective_per_movement_max": 1}


def test_webhook_reorder_lets_later_events_overtake(app, client, admin_headers, rule, hook,
                                                    alice):
    # Only transaction.created is held: the balance.low that follows it (sequence + 1) overtakes.
    rule({"type": "webhook_reorder", "hold_ms": 500}, match={"events": ["transaction.created"]})
    pay(alice, 95_00)  # crosses £10: transaction.created (held), then balance.low
    settle(app, client, admin_headers, hook[0])
    report = block(client, admin_headers, hook, hook[1])
    assert report["out_of_order"] == 1, report
    assert report["integrity"]["ok"], report
    arrived = sorted(hook[1].receiver.events.values(), key=lambda e: e["received_at"])
    assert [e["type"] for e in arrived] == ["balance.low", "transaction.created"]


def test_webhook_drop_fails_attempts_and_the_retries_get_through(app, client, admin_headers,
                                                                 rule, hook, alice, bob):
    rule({"type": "webhook_drop"}, ttl_s=1)
    pay(alice)
    pay(bob)
    settle(app, client, admin_headers, hook[0])
    assert min(d["attempts"] for d in deliveries(client, admin_headers, hook[0])) >= 2
    report = block(client, admin_headers, hook, hook[1])
    assert report["integrity"]["ok"] and report["delivered"] == 2, report
    assert injected(client, admin_headers, "webhook_drop")
    assert 'fault="webhook_drop"' in client.get("/metrics").get_data(as_text=True)


def test_integrity_fails_when_the_receiver_misses_an_event(app, client, admin_headers, hook,
                                                           alice):
    pay(alice)
    settle(app, client, admin_headers, hook[0])
    hook[1].receiver.events.clear()  # as if the receiver lost what it got
    report = block(client, admin_headers, hook, hook[1])
    assert report["integrity"]["ok"] is False and report["integrity"]["missing_events"] == 1


@pytest.mark.parametrize("body", [
    {"fault": {"type": "webhook_drop"}, "match": {"events": ["transaction.deleted"]}},
    {"fault": {"type": "webhook_drop"}, "match": {"path": "/payments"}},
    {"fault": {"type": "reset"}, "match": {"events": ["transaction.created"]}},
    {"fault": {"type": "webhook_duplicate", "times": 1}},
    {"fault": {"type": "webhook_delay"}},
])
def test_bad_delivery_rules_are_refused(client, admin_headers, body):
    response = client.post("/admin/chaos/rules", json=body, headers=admin_headers)
    assert response.status_code == 400, response.json
    assert client.get("/admin/chaos/rules", headers=admin_headers).json["rules"] == []


def test_a_delivery_rule_never_breaks_a_request(client, rule, alice):
    rule({"type": "webhook_drop"})
    assert alice.get("/accounts").status_code == 200
