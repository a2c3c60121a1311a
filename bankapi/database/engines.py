"""The database as SQLAlchemy sees it, with no Flask: engines tuned per backend, the
dialect helpers the domain's upserts use, and database problems said in two lines.

On SQLite every connection runs in WAL mode with a 30 s busy timeout, and a
transaction begun with the `IMMEDIATE` execution option takes the write lock up
front (`BEGIN IMMEDIATE`), which is how `bankapi.database.db.write()` serialises writers.
"""
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import MetaData, create_engine, event, exc, inspect, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateColumn

IMMEDIATE = "banksim_immediate"
NO_BEGIN = "banksim_no_begin"  # SQLite: statements outside any transaction (see `reader`)
STORAGE_FAILURES = {8, 10, 13}  # SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL (primary codes)


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


def add_missing_columns(engine: Engine, metadata: MetaData) -> None:
    """Add to existing tables the columns a newer banksim declares (there are no
    migrations: `create_all` makes missing tables only). Each such column has a server
    default, which fills the rows an older version wrote, or is nullable; the indexes
    declared on an added column are created with it."""
    existing = inspect(engine).get_multi_columns(  # one query on PostgreSQL, not one a table
        filter_names=[table.name for table in metadata.sorted_tables])
    for table in metadata.sorted_tables:
        if (None, table.name) not in existing:
            continue
        present = {column["name"] for column in existing[(None, table.name)]}
        added = set()
        for column in table.columns:
            if column.name not in present:
                ddl = CreateColumn(column).compile(dialect=engine.dialect)
                with engine.begin() as connection:
                    connection.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {ddl}")
                added.add(column.name)
        for index in sorted(table.indexes, key=lambda index: index.name):
            if added & {column.name for column in index.columns}:
                index.create(engine, checkfirst=True)


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

    @event.listens_for(engine, "handle_error")
    def storage_failed(context):
        """A connection that met a storage failure (I/O error, read-only file, full disk)
        may keep failing after the storage is back: treat it as broken, so the pool throws
        it (and its siblings) away and opens fresh ones, as after a dropped connection."""
        code = getattr(context.original_exception, "sqlite_errorcode", None)
        if code is not None and code & 0xFF in STORAGE_FAILURES:
            context.is_disconnect = True

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        options = conn.get_execution_options()
        if options.get(NO_BEGIN):
            return
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(IMMEDIATE) else "BEGIN")


def reader(engine: Engine) -> Engine:
    """The same engine (same pool, same event hooks) for a statement run on its own,
    outside any transaction: no BEGIN before it, no ROLLBACK after it. One statement
    still sees one consistent snapshot on both backends (SQLite wraps it in its own
    implicit transaction, PostgreSQL in autocommit takes one snapshot per statement),
    so this suits a read that is a single statement and nothing else (the balance, a
    token look-up, /health). On PostgreSQL it also saves the driver's BEGIN and ROLLBACK
    round trips."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{NO_BEGIN: True})
    return engine.execution_options(isolation_level="AUTOCOMMIT")


RETRYABLE_SQLSTATES = ("40001", "40P01")  # serialization failure, deadlock detected


def is_retryable(error: exc.DBAPIError) -> bool:
    """Whether PostgreSQL aborted the transaction only because of a concurrent one: running
    the whole transaction again is then safe and likely to succeed."""
    orig = error.orig
    return (getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)) \
        in RETRYABLE_SQLSTATES


def is_unavailable(error: exc.DBAPIError) -> bool:
    """Whether the database, not the bank, failed the statement: busy, locked, read-only,
    full, aborted by a conflict, or the connection gone. (An IntegrityError or a
    ProgrammingError on a live connection is a bug of ours, not an outage.)"""
    return isinstance(error, (exc.OperationalError, exc.InterfaceError)) \
        or error.connection_invalidated or is_retryable(error)


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def dialect_insert(session: Session, model):
    """An INSERT with `on_conflict_do_*` for the session's backend (SQLite or PostgreSQL)."""
    return insert_for(session.get_bind().dialect.name, model)


def insert_for(dialect_name: str, table):
    """`dialect_insert` by the backend's name, for a statement built once per backend."""
    return (postgresql.insert if dialect_name == "postgresql" else sqlite.insert)(table)
