"""The webhooks integrity check: one effective transaction.created per customer entry and
one transaction.updated per step of a card payment's life; anything else is missing or
unknown."""
from collections import Counter

from loadtests.receiver.integrity import webhooks_block


def _event(event_id, type_, transaction_id, status):
    return event_id, {"id": event_id, "type": type_,
                      "data": {"transaction_id": transaction_id, "status": status}}


def _check(ledger, events):
    received = dict(events)
    deliveries = [{"event_id": event_id, "state": "delivered", "latency_ms": 5}
                  for event_id in received]
    return webhooks_block(Counter(), received, deliveries, ledger)["integrity"]


# A returned payment: its own entry, and the entry that gave the money back (both carry
# the movement's status; only the payment's entry has a life of steps).
LEDGER = [{"id": "tx_paid", "kind": "card_payment", "status": "returned"},
          {"id": "tx_back", "kind": "card_return", "status": "returned"}]
CREATED = [_event("e1", "transaction.created", "tx_paid", "pending"),
           _event("e2", "transaction.created", "tx_back", "returned")]


def test_a_returned_payment_needs_its_settled_and_returned_updates():
    complete = [*CREATED, _event("e3", "transaction.updated", "tx_paid", "settled"),
                _event("e4", "transaction.updated", "tx_paid", "returned")]
    assert _check(LEDGER, complete)["ok"]
    without_return = complete[:3]
    result = _check(LEDGER, without_return)
    assert not result["ok"] and result["missing_events"] == 1


def test_a_step_announced_twice_is_not_effective_once():
    doubled = [*CREATED, _event("e3", "transaction.updated", "tx_paid", "settled"),
               _event("e4", "transaction.updated", "tx_paid", "returned"),
               _event("e5", "transaction.updated", "tx_paid", "returned")]
    result = _check(LEDGER, doubled)
    assert not result["ok"] and result["effective_per_movement_max"] == 2


def test_a_signed_body_that_is_not_an_event_is_refused_and_counted():
    """Even a number too big for an int (1e999 reads as infinity) is "not an event"."""
    from bankapi.webhooks.sender import signature
    from loadtests.receiver.receiver import Receiver
    receiver = Receiver("whsec_test")
    for body in (b'{"id": "evt_1", "sequence": 1e999, "account_id": "a"}',
                 b'{"id": "evt_2", "sequence": "x", "account_id": "a"}', b"[]"):
        assert receiver.accept(signature("whsec_test", body), body) == (400, "not an event")
    assert receiver.summary()["bad_requests"] == 3
