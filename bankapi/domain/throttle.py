"""Failed-login lock-out, counted so that a burst cannot get more guesses than the limit.

Failed logins are counted per email, known or not (so a lock-out does not reveal who is a
customer), in the database (so every gunicorn worker and host agrees). After
LOGIN_MAX_FAILURES failures with no quiet LOGIN_WINDOW_S between them the email is locked
for LOGIN_LOCKOUT_S, doubling with each further failure up to LOGIN_LOCKOUT_MAX_S.

Each attempt is *reserved* before its password is checked: one short write transaction
(row lock on PostgreSQL, `BEGIN IMMEDIATE` on SQLite) counts it as a failure and, if that
reaches the limit, sets the lock. Only then is the password checked; a success clears the
row. So however many guesses arrive at once, at most LOGIN_MAX_FAILURES of them are ever
checked per window; the rest are refused by the lock (`LockedOut`, a 429) uncounted, so
the lock-out grows by the documented schedule (30 s, 60 s, ...), not by the burst's size.
"""
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..database.engines import dialect_insert
from ..models import LoginThrottle
from .errors import Locked


@dataclass(frozen=True)
class Policy:
    max_failures: int
    window_s: int
    lockout_s: int
    lockout_max_s: int

    @classmethod
    def from_config(cls, config) -> "Policy":
        return cls(config["LOGIN_MAX_FAILURES"], config["LOGIN_WINDOW_S"],
                   config["LOGIN_LOCKOUT_S"], config["LOGIN_LOCKOUT_MAX_S"])

    def lockout(self, failures: int) -> timedelta:
        extra = failures - self.max_failures
        return timedelta(seconds=min(self.lockout_s * 2 ** min(extra, 20), self.lockout_max_s))


class LockedOut(Locked):
    """The email is locked; the web layer answers 429 with Retry-After."""

    def __init__(self, retry_after_s: int):
        super().__init__(f"too many failed logins for this email; retry in {retry_after_s} s",
                         retry_after_s)


def _refuse_if_locked(locked_until: datetime | None, now: datetime) -> None:
    if locked_until is not None and locked_until > now:
        raise LockedOut(max(1, math.ceil((locked_until - now).total_seconds())))


def check_not_locked(session: Session, email: str) -> None:
    """A cheap read that refuses a locked email without taking the write lock."""
    _refuse_if_locked(session.scalar(select(LoginThrottle.locked_until)
                                     .where(LoginThrottle.email == email)), utcnow())


def reserve_attempt(session: Session, email: str, policy: Policy) -> None:
    """Count this attempt as a failure (locking if it reaches the limit) or raise LockedOut.

    Call inside a write transaction, before checking the password."""
    session.execute(dialect_insert(session, LoginThrottle)
                    .values(email=email, failures=0, last_failure_at=utcnow())
                    .on_conflict_do_nothing(index_elements=["email"]))
    row = session.scalars(select(LoginThrottle).where(LoginThrottle.email == email)
                          .with_for_update().execution_options(populate_existing=True)).one()
    now = utcnow()  # read after the row lock: time spent waiting for it must not count
    _refuse_if_locked(row.locked_until, now)
    if now - quiet_since(row) > timedelta(seconds=policy.window_s):
        row.failures = 0  # a quiet spell after the last failure or lock-out forgets them
    row.failures += 1
    row.last_failure_at = now
    if row.failures >= policy.max_failures:
        row.locked_until = now + policy.lockout(row.failures)


def quiet_since(row: LoginThrottle) -> datetime:
    return max(row.last_failure_at, row.locked_until or row.last_failure_at)


def clear(session: Session, email: str) -> None:
    """A successful login forgets the email's failures (and its own reservation)."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.email == email))
