"""Faults below the API: where a database fault meets the host's SQLAlchemy engines.

The decider decides per request, as for every fault; a database fault then does not
answer for the app. It is *active* while the wrapped app runs (`activated`), and an
engine event hooked once on each engine the host hands in (`hook`) lets it act on every
statement the request sends: slower, failing, or on a dropped connection. The active
fault lives in a context variable, so only the faulted request's own statements (in its
own thread) are touched; a background thread starts with none.

Chaos's own statements (rules, counters, events) run `suspended`: they are never faulted,
even when they share the host's engine and run inside a faulted request (a held
statement asks the decider whether its rule still applies).

A statement is a `read` (SELECT, WITH) or a `write` (INSERT, UPDATE, DELETE, ...), by
its first word; a rule's `statement` setting narrows the fault to one kind, and without
it every statement the request sends through a cursor is hit (the driver's own COMMIT
is not a statement).
"""
import contextvars
import random
import weakref
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.engine import Engine

READS = ("select", "with", "show", "explain", "pragma")
WRITES = ("insert", "update", "delete", "merge", "upsert", "replace", "copy", "truncate")


@dataclass
class Active:
    """One faulted request: its fault, the decider's seeded generator and the slow-fault hold
    (with what the request has held so far, and whether a hold was cut short or refused:
    then its remaining statements run at once)."""

    fault: object  # a chaos.faults.dbfaults.DatabaseFault
    rng: random.Random
    hold: Callable[[float], bool]
    held_s: float = 0.0
    stopped: bool = False


_active: contextvars.ContextVar[Active | None] = contextvars.ContextVar("chaos_db_fault",
                                                                        default=None)
_hooked: "weakref.WeakSet[Engine]" = weakref.WeakSet()


@contextmanager
def activated(fault, rng: random.Random, hold: Callable[[float], bool]):
    """Make `fault` act on this context's statements until the block ends."""
    token = _active.set(Active(fault, rng, hold))
    try:
        yield
    finally:
        _active.reset(token)


@contextmanager
def suspended():
    """No database fault acts inside this block (chaos's own queries)."""
    token = _active.set(None)
    try:
        yield
    finally:
        _active.reset(token)


def statement_kind(statement: str) -> str | None:
    """`read`, `write` or None (BEGIN, COMMIT, SAVEPOINT, DDL), by the first word."""
    words = statement.lstrip(" \t\r\n(").split(None, 1)
    first = words[0].lower() if words else ""
    if first in READS:
        return "read"
    if first in WRITES:
        return "write"
    return None


def hook(engines: Iterable[Engine]) -> None:
    """Let database faults act on these engines' statements (once per engine)."""
    for engine in engines:
        if engine not in _hooked:
            event.listen(engine, "before_cursor_execute", _before_statement)
            _hooked.add(engine)


def _before_statement(conn, cursor, statement, _parameters, _context, _executemany):
    active = _active.get()
    if active is None:
        return
    wanted = active.fault.statement
    if wanted is not None and statement_kind(statement) != wanted:
        return
    with suspended():  # a held statement may ask the store whether its rule still applies
        active.fault.on_statement(conn, cursor, active)
