"""The webhook outbox: an event is written in the same transaction as the change that caused it.

`record` is the one way an event enters the outbox. Call it inside the write transaction
of the movement (or status change) it announces, on that transaction's connection, with
the account's row already locked (the ledger's `lock_accounts` does; a status change should lock
the account the same way): then the event exists exactly when the change commits, and
the account's `sequence` (max + 1, unique per account) cannot be taken twice.

An event is written only when some webhook wants it (the customer's own, or an admin's
that receives every customer's events, subscribed to the type); otherwise `record` costs
one indexed read. One delivery row per interested webhook is written beside it, which
the dispatcher (`bankapi/webhooks/dispatcher.py`) then sends. A gap in an account's
sequence numbers is therefore a time when nobody listened, never a lost event.
"""
import json

from sqlalchemy import bindparam, func, insert, or_, select
from sqlalchemy.engine import Connection

from ..clock import rfc3339, utcnow
from ..ids import new_id
from ..models import Webhook, WebhookDelivery, WebhookEvent

CREATED, UPDATED, LOW = "transaction.created", "transaction.updated", "balance.low"
EVENT_TYPES = (CREATED, UPDATED, LOW)
LOW_BALANCE = 10_00  # balance.low fires when a movement takes a balance below £10.00

HOOKS, EVENTS, DELIVERIES = Webhook.__table__, WebhookEvent.__table__, WebhookDelivery.__table__
LISTENERS = select(HOOKS.c.id, HOOKS.c.events).where(
    or_(HOOKS.c.user_id == bindparam("user_id"), HOOKS.c.user_id.is_(None)))
LAST_SEQUENCE = select(func.coalesce(func.max(EVENTS.c.sequence), 0)).where(
    EVENTS.c.account_id == bindparam("account_id"))
EVENT, DELIVERY = insert(EVENTS), insert(DELIVERIES)


def wants(events: str, type_: str) -> bool:
    """Whether a webhook's stored event list (comma separated) includes `type_`."""
    return type_ in events.split(",")


def record(connection: Connection, type_: str, *, user_id: str, account_id: str, data: dict,
           created=None) -> str | None:
    """Write one event (and its deliveries) in the caller's transaction; its id, or None
    when no webhook wants it. `data` is the event's JSON payload (plain JSON values)."""
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type_!r}")
    hooks = [row.id for row in connection.execute(LISTENERS, {"user_id": user_id})
             if wants(row.events, type_)]
    if not hooks:
        return None
    now = created or utcnow()
    sequence = connection.scalar(LAST_SEQUENCE, {"account_id": account_id}) + 1
    event_id = new_id("evt")
    connection.execute(EVENT, {"id": event_id, "type": type_, "user_id": user_id,
                               "account_id": account_id, "sequence": sequence,
                               "data": json.dumps(data, separators=(",", ":")),
                               "created": now})
    connection.execute(DELIVERY, [{"webhook_id": hook, "event_id": event_id, "state": "pending",
                                   "attempts": 0, "next_attempt_at": now, "held": False,
                                   "created": now} for hook in hooks])
    return event_id


def transaction_data(entry: dict, balance_after: int, status: str | None = None) -> dict:
    """The payload of transaction.created (and, with its new `status`, transaction.updated)
    for a ledger entry (`ledger.post_movement`'s dict; its own status by default)."""
    return {"transaction_id": entry["id"], "movement_id": entry["movement_id"],
            "amount": entry["amount"], "currency": entry["currency"], "kind": entry["kind"],
            "description": entry["description"], "category": entry["category"],
            "merchant": entry["merchant"],
            "counterparty_account_id": entry["counterparty_account_id"],
            "status": status or entry.get("status", "completed"),
            "balance_after": balance_after,
            "created": rfc3339(entry["created"])}


def announce(connection: Connection, user_id: str, entry: dict, balance_before: int) -> None:
    """transaction.created for a customer's new ledger entry, and balance.low when it took
    the balance from LOW_BALANCE or more to below it."""
    after = balance_before + entry["amount"]
    record(connection, CREATED, user_id=user_id, account_id=entry["account_id"],
           data=transaction_data(entry, after), created=entry["created"])
    if balance_before >= LOW_BALANCE > after:
        record(connection, LOW, user_id=user_id, account_id=entry["account_id"],
               data={"transaction_id": entry["id"], "balance": after,
                     "threshold": LOW_BALANCE, "currency": entry["currency"]},
               created=entry["created"])
