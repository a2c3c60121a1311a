"""The test clock: the bank's time moved forward on demand (BANKSIM_TEST_CLOCK=1 only).

Settlement delays, budget months and token lifetimes are long in real time; a tester
moves the bank's clock forward instead of waiting. The offset (seconds added to real time)
is one row in the database, so every server process agrees on it: each reads it at most
every `OffsetCache.ttl_s` seconds, and the process that advanced it knows at once. It only
grows: an advance is at least one second and at most MAX_ADVANCE_S, and it adds to the
offset in one UPDATE, so two concurrent advances both count and time never goes back.
`bankapi.clock` applies the offset to `utcnow()` for the thread doing the work.
"""
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from ..clock import real_utcnow
from ..database.engines import dialect_insert
from ..models import BankClock
from .errors import Invalid, NotFound

MAX_ADVANCE_S = 400 * 86400  # one call moves at most this far (a little over a year)
MAX_OFFSET_S = 100 * 365 * 86400  # in all: far enough for any test, far from year 9999
ROW = 1
READ = select(BankClock.__table__.c.offset_s).where(BankClock.__table__.c.id == ROW)


def offset_s(connection: Connection) -> int:
    """The offset stored now (0 before the first advance)."""
    return int(connection.scalar(READ) or 0)


def enabled(cache: "OffsetCache | None") -> "OffsetCache":
    """The process's offset cache; 404 when the test clock is off."""
    if cache is None:
        raise NotFound("the test clock is off (BANKSIM_TEST_CLOCK=1 turns it on)")
    return cache


def status(offset: int) -> dict:
    return {"now": real_utcnow() + timedelta(seconds=offset), "offset_s": offset}


def advance(session: Session, seconds: int) -> dict:
    """Move the bank's time forward by `seconds`; `{now, offset_s}` after the move."""
    if isinstance(seconds, bool) or not isinstance(seconds, int) \
            or not 1 <= seconds <= MAX_ADVANCE_S:
        raise Invalid(f"seconds must be a whole number from 1 to {MAX_ADVANCE_S} "
                      "(the clock never goes back; at most 400 days a call)", "seconds")
    table = BankClock.__table__
    stmt = dialect_insert(session, BankClock).values(id=ROW, offset_s=seconds)
    offset = session.execute(stmt.on_conflict_do_update(
        index_elements=["id"], set_={"offset_s": table.c.offset_s + seconds},
        where=table.c.offset_s + seconds <= MAX_OFFSET_S)
        .returning(table.c.offset_s)).scalar_one_or_none()
    if offset is None:
        raise Invalid(f"the bank's clock runs at most {MAX_OFFSET_S // (365 * 86400)} years "
                      "ahead of real time; this advance would pass that", "seconds")
    return status(int(offset))


class OffsetCache:
    """This process's copy of the offset, read again after `ttl_s` seconds. It never goes
    back (a stale read cannot undo a newer one); `on_change` runs when it moved (the token
    cache is cleared then, so a token the new time expired is not still trusted)."""

    def __init__(self, engine: Engine, ttl_s: float = 0.5,
                 on_change: Callable[[], None] | None = None, clock=time.monotonic):
        self.engine, self.ttl_s, self.on_change, self.clock = engine, ttl_s, on_change, clock
        self._value, self._read_at = 0, None
        self._lock = threading.Lock()

    def offset(self) -> int:
        read_at = self._read_at
        if read_at is not None and self.clock() - read_at < self.ttl_s:
            return self._value
        with self.engine.connect() as connection:
            return self.learn(offset_s(connection))

    def learn(self, value: int) -> int:
        """Take a value read from the database; the offset this process now uses."""
        with self._lock:
            moved = value > self._value
            self._value, self._read_at = max(self._value, value), self.clock()
            current = self._value
        if moved and self.on_change is not None:
            self.on_change()
        return current
