"""Deterministic demo data: Faker customers with months of realistic banking history.

`seed_database` is what `banksim seed` runs. Everything is drawn from one
`random.Random(seed)` and Faker pools seeded with the same number, and the
history is laid out backwards from `until` (today 00:00 UTC by default), so the
same seed and `until` give identical rows. The stages, each in its own module:

    pools     Faker names and the UK merchant catalogue, built once
    people    customers, accounts, pay, habits, flatmates, friends
    plan      what each customer tries to do, as time-stamped events
    simulate  replay in time order: decline overdrafts, write ledger rows
    load      one bulk transaction through `bankapi.domain.history.post_history`

All users share one password hash, computed once by the caller: a deliberately
slow hash (scrypt, tens of milliseconds) per user would make 10,000 users take
minutes, and every seeded user's password is the same `banksim` anyway.
"""
import gc
import random
import time
from datetime import datetime, timezone

from sqlalchemy.engine import Engine

from .calendar import Calendar, months_back
from .load import AlreadySeeded, prepare, write
from .people import Population
from .plan import plan_events
from .pools import build_pools
from .progress import Stages
from .simulate import simulate

__all__ = ["AlreadySeeded", "seed_database"]


def _until(until: datetime | None) -> datetime:
    """00:00 UTC (naive) of `until`'s day, today's by default: the history ends at a day
    boundary, and this default is the only thing seeding takes from the wall clock."""
    until = until or datetime.now(timezone.utc)
    if until.tzinfo is not None:
        until = until.astimezone(timezone.utc)
    return until.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)


def seed_database(engine: Engine, *, users: int, months: int, seed: int = 42,
                  reset: bool = False, password_hash: str, until: datetime | None = None,
                  progress=None) -> dict:
    """Seed `users` customers with `months` of history ending at `until`; return stats.

    Raises AlreadySeeded when the database has users and `reset` is false.
    `progress` is a rich Progress, a `callback(stage, done, total)`, or None.
    """
    if users < 1 or months < 1:
        raise ValueError("users and months must be at least 1")
    # Millions of small tuples and no cycles: the cyclic garbage collector would walk
    # the growing heap again and again for nothing (a third of the run time).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _seed(engine, users, months, seed, reset, password_hash, until, progress)
    finally:
        if collecting:
            gc.enable()


def _seed(engine, users, months, seed, reset, password_hash, until, progress) -> dict:
    began = time.perf_counter()
    until = _until(until)
    prepare(engine, reset)
    stages = Stages(progress)
    rng = random.Random(seed)
    calendar = Calendar(months_back(until, months), until)
    people = stages.stage("Creating customers", 1)
    pools = build_pools(seed)
    population = Population(rng, pools, calendar, users, password_hash)
    people()
    events = plan_events(rng, population, calendar, pools.local_habits,
                         stages.stage("Planning history", users))
    replay = stages.stage("Replaying in time order", 1)
    history = simulate(rng, events, population, calendar)
    replay()
    rows = write(engine, population, history,
                 stages.stage("Writing ledger", len(history.entries)))
    seconds = time.perf_counter() - began
    return {"users": users, "accounts": len(population.accounts),
            "transactions": history.customer_entries,
            "ledger_entries": len(history.entries), "transfers": len(history.transfers),
            "declined": history.skipped, "notifications": len(history.notifications),
            "budgets": len(history.budgets), "from": calendar.start.date().isoformat(),
            "until": until.date().isoformat(), "rows": rows, "seconds": round(seconds, 1),
            "rows_per_second": round(rows / seconds)}
