"""Deleting rows that can no longer matter, so no table grows for ever.

- tokens: until `expires_at`; an expired token is refused whether its row exists or not.
- sessions: until `expires_at` (of the current refresh token); likewise refused after it.
- spent_refresh_tokens: until `expires_at` (the session's when the token was rotated out);
  after it, sending the token again is refused as expired, with nothing more to detect.
- login_throttle: until LOGIN_WINDOW_S have passed since both the last failure and the end
  of the lock-out; the next failure would reset the count anyway.
- idempotency_keys: IDEMPOTENCY_TTL_S after `created` (24 h, as Stripe). The trade: a
  retry with a pruned key is a new request and does the work again.

Pruning runs in the serving processes, at most once per PRUNE_INTERVAL_S per process, after
a response has been sent (`call_on_close`), in its own short transactions of at most
PRUNE_BATCH rows each (so it never holds SQLite's write lock for long), up to
PRUNE_MAX_BATCHES per table per run; whatever is left waits for the next run.
"""
import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, tuple_
from sqlalchemy.orm import Session

from ..database.engines import IMMEDIATE
from ..models import DeviceSession, IdempotencyKey, LoginThrottle, SpentRefreshToken, Token

PRUNE_BATCH = 1000
PRUNE_MAX_BATCHES = 5


def expired(config, now: datetime) -> dict:
    """Per table: a SELECT of the primary keys of the rows past their retention."""
    window = now - timedelta(seconds=config["LOGIN_WINDOW_S"])
    idempotency_cutoff = now - timedelta(seconds=config["IDEMPOTENCY_TTL_S"])
    return {
        "tokens": select(Token.token_hash).where(Token.expires_at <= now),
        "sessions": select(DeviceSession.id).where(DeviceSession.expires_at <= now),
        "spent_refresh_tokens": select(SpentRefreshToken.refresh_hash).where(
            SpentRefreshToken.expires_at <= now),
        "login_throttle": select(LoginThrottle.email).where(
            LoginThrottle.last_failure_at < window,
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < window)),
        "idempotency_keys": select(IdempotencyKey.user_id, IdempotencyKey.key).where(
            IdempotencyKey.created < idempotency_cutoff),
    }


_KEYS = {"tokens": (Token, Token.token_hash),
         "sessions": (DeviceSession, DeviceSession.id),
         "spent_refresh_tokens": (SpentRefreshToken, SpentRefreshToken.refresh_hash),
         "login_throttle": (LoginThrottle, LoginThrottle.email),
         "idempotency_keys": (IdempotencyKey, tuple_(IdempotencyKey.user_id, IdempotencyKey.key))}


def prune_batch(session: Session, table: str, expired_keys) -> int:
    """Delete up to PRUNE_BATCH expired rows of one table; how many went."""
    model, key = _KEYS[table]
    return session.execute(delete(model).where(key.in_(expired_keys.limit(PRUNE_BATCH)))
                           .execution_options(synchronize_session=False)).rowcount


def prune(engine, config, now: datetime) -> dict:
    """Prune every table, each batch in its own transaction; rows deleted per table."""
    deleted = {}
    for table, expired_keys in expired(config, now).items():
        deleted[table] = 0
        for _ in range(PRUNE_MAX_BATCHES):
            with Session(engine) as session, session.begin():
                session.connection(execution_options={IMMEDIATE: True})
                gone = prune_batch(session, table, expired_keys)
            deleted[table] += gone
            if gone < PRUNE_BATCH:
                break
    return deleted


class Pruner:
    """At most one prune per `interval_s` in this process; others never wait for it."""

    def __init__(self, interval_s: float, clock=time.monotonic):
        self.interval_s, self.clock = interval_s, clock
        self._next = clock() + interval_s  # a fresh process serves before it prunes
        self._lock = threading.Lock()

    def due(self) -> bool:
        """True for one caller per interval (held for a comparison, never for a prune)."""
        if self.interval_s <= 0 or self.clock() < self._next:
            return False  # the common case, decided without the lock
        with self._lock:
            if self.clock() < self._next:
                return False
            self._next = self.clock() + self.interval_s
            return True
