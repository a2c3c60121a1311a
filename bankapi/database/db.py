"""The database lifecycle in the web app: the engine of each app, one session per
request, and write transactions.

Reads use the request's session as-is, except a read that is one statement and nothing
else (the balance, the token check, /health): `db.reading()` runs it on a connection
outside any transaction, which spares the BEGIN before and the ROLLBACK after it (the
session's first statement begins a transaction that teardown rolls back). The hottest of
them, the balance, goes further on SQLite: `db.first()` runs it on the driver's own
cursor (`driver.py`).

Anything that moves money goes through `db.write()`, which starts a transaction that
serialises writers: on SQLite with `BEGIN IMMEDIATE` (the write lock is taken up front, so
two transfers never read the same balance), after a turn in the writers' queue
(`writers.py`: waiting writers are woken, not left asleep in SQLite's busy handler); on
PostgreSQL with ordinary transactions in which the ledger takes row locks in a fixed order.

`db.write_unit(unit)` runs a whole unit of work in a write transaction and runs it again
(up to WRITE_ATTEMPTS in all, after a short jittered pause) when PostgreSQL aborted it as
a serialization failure or a deadlock: the aborted attempt left nothing behind, so the
retry is safe. Any other database failure reaches the caller (the web layer answers 503).
"""
import random
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, contextmanager, nullcontext

from flask import current_app, g, has_request_context, request
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from .driver import DriverFailed, DriverQuery
from .engines import (IMMEDIATE, add_missing_columns, is_retryable, make_engine, reader,
                     sqlite_file)
from ..models import Base
from .writers import WriterQueue

WRITE_ATTEMPTS = 3
BACKOFF_S = 0.02  # the first retry waits up to this long, the next up to twice as long


class Database:
    """Flask extension owning each app's engine and the per-request session.

    The engine lives in `app.extensions`, not on this object, so several apps in one
    process (tests, the CLI) each keep and dispose of their own.
    """

    def init_app(self, app) -> None:
        state = app.state
        engine = state.engine = make_engine(app.config["DATABASE_URL"])
        state.reader = (
            None if app.config["SINGLE_READ_TRANSACTION"] else reader(engine))
        state.driver = (
            engine if engine.dialect.name == "sqlite"
            and not app.config["SINGLE_READ_TRANSACTION"] else None)
        state.writers = (
            WriterQueue(sqlite_file(app.config["DATABASE_URL"]))
            if engine.dialect.name == "sqlite" else None)
        app.teardown_appcontext(self._close_session)

    @staticmethod
    def engine_of(app) -> Engine:
        return app.state.engine

    @property
    def engine(self) -> Engine:
        """The current app's engine."""
        return self.engine_of(current_app)

    @property
    def session(self) -> Session:
        """The request's session, created on first use and closed at teardown."""
        if "db_session" not in g:
            g.db_session = Session(self.engine, expire_on_commit=False)
        return g.db_session

    def reading(self) -> AbstractContextManager[Connection]:
        """A connection for one read statement outside any transaction (`engine.reader`):
        `with db.reading() as connection: connection.execute(...).first()`. The statement
        goes through the engine's events like any other, so chaos's db_* faults act on it.
        With SINGLE_READ_TRANSACTION the request session's connection, in its transaction."""
        engine = current_app.state.reader
        if engine is None:
            return nullcontext(self.session.connection())
        return engine.connect()

    def first(self, query: DriverQuery, params: dict):
        """The first row (or None) of a one-statement read. On SQLite it runs on the
        driver's own cursor (`driver.py`); it goes through SQLAlchemy (`reading()`)
        instead on PostgreSQL, where a pooled connection outside SQLAlchemy is not in
        autocommit and the statement would cost a BEGIN and a ROLLBACK round trip; with
        SINGLE_READ_TRANSACTION; while a chaos database fault acts on the request (the
        chaos layer marks the WSGI environ, and its faults act through the engine's
        events); and once more after the driver failed, so that SQLAlchemy reports the
        failure (503) or, on a fresh connection, answers."""
        engine = current_app.state.driver
        if engine is not None and not (
                has_request_context() and "chaos.database_fault" in request.environ):
            try:
                return query.first(engine, params)
            except DriverFailed:
                pass
        with self.reading() as connection:
            return connection.execute(query.statement, params).first()

    @contextmanager
    def write(self):
        """A write transaction on the request's session, committed on success; on
        SQLite it first waits its turn in the writers' queue (`bankapi/database/writers.py`)."""
        session = self.session
        session.rollback()  # leave any read snapshot before taking the write lock
        writers = current_app.state.writers
        with writers.turn() if writers is not None else nullcontext():
            with session.begin():
                session.connection(execution_options={IMMEDIATE: True})
                yield session

    def write_unit(self, unit: Callable[[Session], object], attempts: int = WRITE_ATTEMPTS):
        """`unit(session)` in a write transaction, retried on serialization failures and
        deadlocks (see the module docstring); returns what `unit` returns."""
        for attempt in range(1, attempts + 1):
            try:
                with self.write() as session:
                    return unit(session)
            except DBAPIError as error:
                if attempt == attempts or not is_retryable(error):
                    raise
                time.sleep(random.uniform(0, BACKOFF_S * 2 ** (attempt - 1)))

    def create_all(self) -> None:
        Base.metadata.create_all(self.engine)
        add_missing_columns(self.engine, Base.metadata)

    def drop_all(self) -> None:
        Base.metadata.drop_all(self.engine)

    @staticmethod
    def _close_session(_exc=None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


db = Database()
