"""Webhooks: registering a URL, listing and removing them, and what was delivered to each.

A customer's webhook receives that customer's events; an admin's (`user_id` None)
receives every customer's. Each gets a secret, shown once, that signs its deliveries
(docs/bank.md, "Webhooks"). Another user's webhook looks like no webhook (404).
"""
import json
import secrets

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..ids import new_id
from ..models import Webhook, WebhookDelivery, WebhookEvent
from . import destinations
from .errors import NotFound, Unprocessable
from .outbox import EVENT_TYPES

MAX_PER_OWNER = 10
HOOKS, DELIVERIES, EVENTS = Webhook.__table__, WebhookDelivery.__table__, WebhookEvent.__table__
PUBLIC = (HOOKS.c.id, HOOKS.c.url, HOOKS.c.events, HOOKS.c.created)


def _owner(user_id: str | None):
    return HOOKS.c.user_id.is_(None) if user_id is None else HOOKS.c.user_id == user_id


def _shown(row) -> dict:
    return {"id": row.id, "url": row.url, "events": row.events.split(","),
            "created": row.created}


def register(session: Session, user_id: str | None, url: str,
             events: list[str] | None = None) -> dict:
    """A new webhook for the customer (None: an admin's, for every customer), with its
    secret. The URL is checked (`destinations.check`): 400 naming `url`, nothing written."""
    destinations.check(url)
    connection = session.connection()
    count = connection.scalar(select(func.count()).select_from(HOOKS).where(_owner(user_id)))
    if count >= MAX_PER_OWNER:
        raise Unprocessable(f"at most {MAX_PER_OWNER} webhooks; delete one first", "url",
                            code="too_many_webhooks")
    chosen = [kind for kind in EVENT_TYPES if kind in set(events or EVENT_TYPES)]
    row = {"id": new_id("whk"), "user_id": user_id, "url": url, "events": ",".join(chosen),
           "secret": f"whsec_{secrets.token_hex(24)}", "created": utcnow()}
    connection.execute(insert(HOOKS), row)
    return {"id": row["id"], "url": url, "events": chosen, "secret": row["secret"],
            "created": row["created"]}


def listed(connection: Connection, user_id: str | None) -> list[dict]:
    """The owner's webhooks, oldest first, without their secrets."""
    rows = connection.execute(select(*PUBLIC).where(_owner(user_id)).order_by(HOOKS.c.created))
    return [_shown(row) for row in rows]


def _check_owner(connection: Connection, user_id: str | None, webhook_id: str) -> None:
    found = connection.scalar(select(HOOKS.c.id).where(HOOKS.c.id == webhook_id,
                                                       _owner(user_id)))
    if found is None:
        raise NotFound(f"no webhook {webhook_id[:64]}", "webhook_id")


def remove(session: Session, user_id: str | None, webhook_id: str) -> None:
    """Delete the webhook and its deliveries: nothing more is sent to it."""
    connection = session.connection()
    _check_owner(connection, user_id, webhook_id)
    connection.execute(delete(DELIVERIES).where(DELIVERIES.c.webhook_id == webhook_id))
    connection.execute(delete(HOOKS).where(HOOKS.c.id == webhook_id))


def deliveries(connection: Connection, user_id: str | None, webhook_id: str,
               limit: int = 100) -> list[dict]:
    """What happened to the newest `limit` events sent (or to send) to the webhook."""
    _check_owner(connection, user_id, webhook_id)
    rows = connection.execute(
        select(DELIVERIES, EVENTS.c.type, EVENTS.c.account_id, EVENTS.c.sequence,
               EVENTS.c.data, EVENTS.c.created.label("event_created"))
        .join(EVENTS, EVENTS.c.id == DELIVERIES.c.event_id)
        .where(DELIVERIES.c.webhook_id == webhook_id)
        .order_by(DELIVERIES.c.id.desc()).limit(limit))
    return [{"event_id": row.event_id, "type": row.type, "account_id": row.account_id,
             "sequence": row.sequence,
             "transaction_id": json.loads(row.data).get("transaction_id"),
             "attempts": row.attempts, "last_status": row.last_status,
             "last_error": row.last_error, "state": row.state,
             "created": row.event_created, "delivered_at": row.delivered_at,
             "latency_ms": row.latency_ms} for row in rows]
