"""The state of each delivery, as the dispatcher moves it: claimed, sent, retried, given up.

Several processes (gunicorn workers) run a dispatcher each, so a delivery is *claimed*
before it is sent: a conditional UPDATE sets its `lease_until` only if nobody holds an
unexpired lease, and exactly one process sees its UPDATE change the row. The lease
outlives the longest attempt, so one attempt per delivery is in flight at a time; a
process that dies mid-attempt leaves a lease that simply expires, and the delivery is
tried again (at least once, never lost).

A failed attempt is retried after an exponential backoff with jitter (BACKOFF_BASE_S
doubling per attempt, at most BACKOFF_CAP_S), the last attempt at the give-up time
(the event's creation + give_up_s); when that one fails the delivery is `failed`.
"""
import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, bindparam, or_, select, update
from sqlalchemy.orm import Session

from ..database.driver import DriverQuery
from ..models import Webhook, WebhookDelivery, WebhookEvent

BACKOFF_BASE_S, BACKOFF_CAP_S = 0.5, 30.0
D, E, H = WebhookDelivery.__table__, WebhookEvent.__table__, Webhook.__table__


@dataclass(frozen=True)
class Job:
    """A claimed delivery: what to send, where, and with which secret."""
    delivery_id: int
    url: str
    secret: str
    attempts: int
    held: bool
    event_id: str
    type: str
    user_id: str
    account_id: str
    sequence: int
    data: dict
    created: datetime


def _free(now: datetime):
    return and_(D.c.state == "pending", D.c.next_attempt_at <= now,
                or_(D.c.lease_until.is_(None), D.c.lease_until < now))


DUE = (select(D.c.id).where(_free(bindparam("now")))
       .order_by(D.c.next_attempt_at, D.c.id).limit(bindparam("limit")))
# whether a poll has anything to claim: every serving process asks it every WEBHOOK_POLL_S,
# mostly to hear "none", and on SQLite the driver's cursor answers it cheaply (driver.py)
ANY_DUE = DriverQuery(select(D.c.id).where(_free(bindparam("now"))).limit(1))


def due(connection: Connection, now: datetime, limit: int) -> list[str]:
    """Ids of up to `limit` deliveries free to claim now, oldest due first: a plain read,
    so a poll that finds nothing due takes no write lock."""
    return list(connection.scalars(DUE, {"now": now, "limit": limit}))


def claim(session: Session, now: datetime, lease_s: float, ids: list[str]) -> list[Job]:
    """Lease the deliveries of `ids` (from `due`) that are still free, for `lease_s`
    seconds: the update re-checks, so of two processes that read the same id one gets it."""
    connection = session.connection()
    until = now + timedelta(seconds=lease_s)
    mine = [delivery_id for delivery_id in ids
            if connection.execute(update(D).where(D.c.id == delivery_id, _free(now))
                                  .values(lease_until=until)).rowcount == 1]
    if not mine:
        return []
    rows = connection.execute(
        select(D.c.id, H.c.url, H.c.secret, D.c.attempts, D.c.held, E.c.id, E.c.type,
               E.c.user_id, E.c.account_id, E.c.sequence, E.c.data, E.c.created)
        .join(E, E.c.id == D.c.event_id).join(H, H.c.id == D.c.webhook_id)
        .where(D.c.id.in_(mine)).order_by(E.c.created, E.c.sequence))
    return [Job(*row[:10], json.loads(row[10]), row[11]) for row in rows]


def postpone(session: Session, job: Job, now: datetime, seconds: float) -> None:
    """Hold the delivery back (a delay or reorder fault); not an attempt. `held` marks
    the next attempt as the one after a hold (its outcome clears the mark)."""
    session.connection().execute(
        update(D).where(D.c.id == job.delivery_id).values(
            held=True, lease_until=None, next_attempt_at=now + timedelta(seconds=seconds)))


def delivered(session: Session, job: Job, now: datetime, status: int, attempts: int) -> None:
    latency_ms = (now - job.created).total_seconds() * 1000
    session.connection().execute(
        update(D).where(D.c.id == job.delivery_id).values(
            state="delivered", attempts=job.attempts + attempts, last_status=status,
            last_error=None, lease_until=None, delivered_at=now, latency_ms=latency_ms))


def attempt_failed(session: Session, job: Job, now: datetime, status: int | None,
                   error: str, attempts: int, give_up_s: float) -> str:
    """Schedule the next attempt, or give up; the delivery's new state."""
    tries = job.attempts + attempts
    deadline = job.created + timedelta(seconds=give_up_s)
    backoff = min(BACKOFF_BASE_S * 2 ** (tries - 1), BACKOFF_CAP_S) * random.uniform(0.5, 1)
    state = "failed" if now >= deadline else "pending"
    session.connection().execute(
        update(D).where(D.c.id == job.delivery_id).values(
            state=state, attempts=tries, last_status=status, last_error=error[:200],
            lease_until=None, held=False,
            next_attempt_at=min(now + timedelta(seconds=backoff), deadline)))
    return state


def gone(session: Session, job: Job) -> bool:
    """Whether the webhook was deleted while its delivery was in flight."""
    return session.connection().scalar(
        select(D.c.id).where(D.c.id == job.delivery_id)) is None
