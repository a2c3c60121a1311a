"""The bank's time: naive UTC datetimes, spoken as RFC 3339, shifted by the test clock.

`utcnow()` is real time plus the test clock's offset (`domain/testclock.py`, on only with
BANKSIM_TEST_CLOCK=1). The offset lives in the database so that every server process
agrees; each request and each settlement pass reads it once (cached briefly by its
process) and sets it here, for the thread doing the work, with `shifted(...)`. Code that
never set one (the seeder, the CLI, a bank without the test clock) runs on real time.
"""
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta, timezone

_offset_s: ContextVar[int] = ContextVar("bank_clock_offset_s", default=0)


def real_utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def utcnow() -> datetime:
    """The bank's now: real time plus the test clock's offset in this thread (if any)."""
    offset = _offset_s.get()
    now = real_utcnow()
    return now + timedelta(seconds=offset) if offset else now


@contextmanager
def shifted(offset_s: int):
    """Run the block on the bank's time `offset_s` seconds ahead of real time."""
    token = _offset_s.set(offset_s)
    try:
        yield
    finally:
        _offset_s.reset(token)


def set_offset(offset_s: int):
    """Set this thread's offset until `reset_offset(token)` (a request's before/teardown)."""
    return _offset_s.set(offset_s)


def reset_offset(token) -> None:
    _offset_s.reset(token)


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def month_of(moment: datetime) -> str:
    return moment.strftime("%Y-%m")


def naive_utc(moment: datetime) -> datetime:
    """Client datetimes may carry a zone; the bank stores naive UTC."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment
