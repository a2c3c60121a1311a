"""The database lifecycle: engine, one session per request, write transactions.

Reads use the request's session as-is. Anything that moves money goes through
`db.write()`, which starts a transaction that serialises writers:
on SQLite with `BEGIN IMMEDIATE` (the write lock is taken up front, so two
transfers never read the same balance), on PostgreSQL with ordinary
transactions in which the ledger takes row locks in a fixed order.
"""
from contextlib import contextmanager
from pathlib import Path

from flask import current_app, g
from sqlalchemy import create_engine, event, exc, inspect, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from .models import Base

IMMEDIATE = "banksim_immediate"


DRIVERS = {"psycopg": "banksim[postgres]", "psycopg2": "banksim[postgres]",
           "pg8000": "banksim[postgres]", "asyncpg": "banksim[postgres]"}
URL_HELP = "e.g. sqlite:///banksim.db or postgresql+psycopg://user@host:5432/db"


class DatabaseUnavailable(Exception):
    """The configured database cannot be used; the message says why and what to do."""


@contextmanager
def explained_database_errors(url: str):
    """Turn a bad URL, a missing driver or an unreachable server into one short message
    instead of a driver traceback (what a user needs is the fix, not SQLAlchemy's stack)."""
    try:
        yield
    except (exc.ArgumentError, exc.NoSuchModuleError) as error:
        raise DatabaseUnavailable(
            f"BANKSIM_DATABASE_URL is not a database URL banksim can use ({error}).\n"
            f"Set it to a SQLAlchemy URL, {URL_HELP}.") from None
    except ModuleNotFoundError as error:
        if error.name not in DRIVERS:
            raise
        raise DatabaseUnavailable(
            f"The database driver '{error.name}' named by BANKSIM_DATABASE_URL is not "
            f"installed.\nFor PostgreSQL: pip install '{DRIVERS[error.name]}' (in a clone: "
            "pip install -e '.[postgres]') and use postgresql+psycopg://user@host:5432/db."
        ) from None
    except exc.OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise DatabaseUnavailable(
            f"Cannot use the database {_safe(url)}: {reason}\n"
            "Check that the server is running, the database exists and "
            "BANKSIM_DATABASE_URL is right.") from None


def _safe(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return "(unparseable URL)"


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names, or None (another backend, or in-memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def has_bank(engine: Engine) -> bool:
    """Whether the database already holds the bank's tables (without creating anything)."""
    return inspect(engine).has_table("accounts")


def make_engine(url: str) -> Engine:
    """Create an engine tuned for the backend: WAL and a busy timeout on SQLite."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                               pool_size=20, max_overflow=20)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        immediate = conn.get_execution_options().get(IMMEDIATE)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def dialect_insert(session: Session, model):
    """An INSERT with `on_conflict_do_*` for the session's backend (SQLite or PostgreSQL)."""
    return (postgresql.insert if is_postgres(session) else sqlite.insert)(model)


class Database:
    """Flask extension owning each app's engine and the per-request session.

    The engine lives in `app.extensions`, not on this object, so several apps in one
    process (tests, the CLI) each keep and dispose of their own.
    """

    def init_app(self, app) -> None:
        app.extensions["banksim_db"] = make_engine(app.config["DATABASE_URL"])
        app.teardown_appcontext(self._close_session)

    @staticmethod
    def engine_of(app) -> Engine:
        return app.extensions["banksim_db"]

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

    @contextmanager
    def write(self):
        """A write transaction on the request's session, committed on success."""
        session = self.session
        session.rollback()  # leave any read snapshot before taking the write lock
        with session.begin():
            session.connection(execution_options={IMMEDIATE: True})
            yield session

    def create_all(self) -> None:
        Base.metadata.create_all(self.engine)

    def drop_all(self) -> None:
        Base.metadata.drop_all(self.engine)

    @staticmethod
    def _close_session(_exc=None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


db = Database()
