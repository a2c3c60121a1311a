"""The settlement worker: a thread in each server process that takes due card payments'
next steps (`domain/settlement.py`), on the bank's clock.

Every `banksim serve` process runs one; they all look at the same due payments, and the
domain's conditional claim lets exactly one of them take each step. Steps go up to
STEPS_PER_WRITE to a write transaction (`db.write_unit`, retried on a deadlock), so a
crash, a database fault or a lost race costs at most those steps, which the next pass takes
again. Why not one each: under load every card payment comes back here as a second write,
and each transaction pays BEGIN, COMMIT and (on SQLite) a turn in the writers' queue that
the bank's requests wait in too; ten steps keep the write lock held for milliseconds
(benchmarks/README.md, Capacity).
"""
import logging
import threading
from functools import partial

from .clock import shifted, utcnow
from .database.db import db
from .domain import settlement

log = logging.getLogger("banksim.settlement")
BATCH = 100
STEPS_PER_WRITE = 10


class Settler:
    def __init__(self, app, interval_s: float | None = None):
        delay = app.config["SETTLEMENT_DELAY_S"]
        self.app = app
        # a few passes per delay, at most two a second, at least twenty
        self.interval_s = interval_s if interval_s is not None else min(0.5, max(0.05, delay / 5))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="banksim-settler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.run_once()
            except Exception:  # the database is down or faulted: the next pass tries again
                log.warning("settlement pass failed", exc_info=True)

    def run_once(self) -> int:
        """One pass: every due payment's next step; how many steps this process took."""
        taken = 0
        with self.app.app_context():
            clock = self.app.state.clock
            with shifted(clock.offset() if clock is not None else 0):
                if db.first(settlement.ANY_DUE, {"now": utcnow()}) is None:
                    return 0
                with db.reading() as connection:
                    due = settlement.due(connection, utcnow(), BATCH)
                for start in range(0, len(due), STEPS_PER_WRITE):
                    if self._stop.is_set():
                        break
                    taken += self._steps(due[start:start + STEPS_PER_WRITE])
        return taken

    @staticmethod
    def _steps(ids: list[str]) -> int:
        """The steps of `ids` in one write transaction; if that fails, each in its own,
        so that one payment that cannot be stepped never holds back the others."""
        def steps(session, ids=ids):
            return sum(settlement.step(session, payment_id, utcnow()) is not None
                       for payment_id in ids)
        try:
            return db.write_unit(steps)
        except Exception:  # noqa: BLE001 - one at a time below
            if len(ids) == 1:
                raise
        taken, failed = 0, None
        for one in ids:
            try:
                taken += db.write_unit(partial(steps, ids=[one]))
            except Exception as error:  # noqa: BLE001 - the others still go on
                failed = error
        if failed is not None:
            raise failed  # logged once by the pass; the next pass tries again
        return taken
