"""Getting the schema ready and writing a planned history in one bulk transaction.

The whole history is one transaction: a seed either lands completely or not at
all. Ledger rows go through `bankapi.domain.history.post_history` (the ledger stays the
only writer of entries and balances); users, accounts, budgets and
notifications are plain bulk inserts.

For the load, SQLite skips fsync (`synchronous=OFF`: a crash mid-seed loses a
seed, not data anyone relied on), gets a page cache of up to 1 GiB (the
10,000-user history is ~400 MB; a cache smaller than the table made inserts a
third slower) and uses a rollback
journal instead of WAL (see SQLITE_BULK_PRAGMAS); the secondary
indexes of `transactions` are dropped and rebuilt after the rows are in, which
sorts once instead of updating two B-trees a million times.

PostgreSQL also drops, for the load, the foreign keys of the tables the history
fills and the primary keys of `transactions` and `transfers`, and adds them back
before the commit: a foreign key checks each COPYed row with its own lookup (a
million of them), where adding it back validates the whole table in one join, and
a primary key is built by one sort instead of a million random B-tree inserts.
Nothing goes unchecked: the constraints are back, and validated, in the same
transaction. `monthly_spend` keeps its primary key (the merge's ON CONFLICT needs it).
"""
from contextlib import contextmanager, nullcontext

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bankapi.domain import ledger, releases
from bankapi.domain.history import post_history
from bankapi.models import Account, Base, Budget, LedgerEntry, Notification, User

from .people import Population
from .simulate import History

# Restored after the load. A rollback journal instead of WAL: a big insert into new pages
# needs almost no journal, where WAL writes every page twice (log, then checkpoint).
# Foreign keys are off only while the generated rows, whose accounts exist, go in.
SQLITE_BULK_PRAGMAS = {"synchronous": "OFF", "cache_size": "-1048576", "temp_store": "MEMORY",
                       "foreign_keys": "OFF", "journal_mode": "TRUNCATE"}


class AlreadySeeded(Exception):
    """The database already has customers; seeding again would mix two populations."""


def prepare(engine: Engine, reset: bool) -> None:
    """Create (or, with `reset`, drop and recreate) the bank's tables, system accounts
    and release history; refuse a database that already has users unless resetting."""
    if reset:
        Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        existing = session.scalar(select(func.count()).select_from(User))
        if existing:
            raise AlreadySeeded(f"the database already has {existing} users; "
                                "use --reset to replace them")
        ledger.ensure_system_accounts(session)
        releases.seed_history(session)


@contextmanager
def _sqlite_tuned(connection):
    raw = connection.connection.driver_connection
    saved = {name: raw.execute(f"PRAGMA {name}").fetchone()[0] for name in SQLITE_BULK_PRAGMAS}
    for name, value in SQLITE_BULK_PRAGMAS.items():
        raw.execute(f"PRAGMA {name}={value}")
    try:
        yield
    finally:
        for name, value in saved.items():
            raw.execute(f"PRAGMA {name}={value}")


@contextmanager
def bulk_session(engine: Engine):
    """A session in one transaction on one connection, tuned for writing a lot at once."""
    with engine.connect() as connection:
        tuning = _sqlite_tuned(connection) if engine.dialect.name == "sqlite" else nullcontext()
        with tuning, Session(bind=connection) as session, session.begin():
            if engine.dialect.name == "postgresql":
                session.connection().exec_driver_sql("SET LOCAL synchronous_commit = off")
                session.connection().exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
            yield session


# (table, constraint types) PostgreSQL drops while the history loads: f = foreign key,
# p = primary key.
POSTGRES_DEFERRED = {"transactions": "fp", "transfers": "fp", "monthly_spend": "f"}


@contextmanager
def _indexes_rebuilt_after(session: Session):
    """Drop the entries' secondary indexes (and, on PostgreSQL, the constraints above)
    while loading into an empty table; put them back afterwards."""
    connection = session.connection()
    empty = session.scalar(select(LedgerEntry.id).limit(1)) is None
    indexes = sorted(LedgerEntry.__table__.indexes, key=lambda index: index.name) if empty else []
    constraints = (_postgres_constraints(session)
                   if empty and connection.dialect.name == "postgresql" else [])
    for table, name, _ in constraints:
        session.execute(text(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"'))
    for index in indexes:
        index.drop(connection)
    yield
    for index in indexes:
        index.create(connection)
    for table, name, definition in sorted(constraints, key=lambda c: c[2][0] != "P"):
        session.execute(text(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}'))


def _postgres_constraints(session: Session) -> list[tuple[str, str, str]]:
    """(table, name, definition) of the constraints in POSTGRES_DEFERRED, foreign keys
    first (dropped first, so no primary key is dropped from under one)."""
    rows = session.execute(text(
        "SELECT c.relname, k.conname, pg_get_constraintdef(k.oid), k.contype"
        " FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid"
        " WHERE c.relname = ANY(:tables) AND c.relnamespace = to_regnamespace(current_schema())"
        " ORDER BY k.contype = 'p', c.relname, k.conname"),
        {"tables": list(POSTGRES_DEFERRED)}).all()
    return [(table, name, definition) for table, name, definition, kind in rows
            if kind in POSTGRES_DEFERRED[table]]


def write(engine: Engine, population: Population, history: History, advance=None) -> int:
    """Write users, accounts and the history; return how many rows were written."""
    with bulk_session(engine) as session:
        session.execute(insert(User), population.users)
        session.execute(insert(Account), population.accounts)
        with _indexes_rebuilt_after(session):
            post_history(session, history.entries, history.transfers, on_rows=advance)
        if history.budgets:
            session.execute(insert(Budget), history.budgets)
        if history.notifications:
            session.execute(insert(Notification), history.notifications)
    return (len(population.users) + len(population.accounts) + len(history.entries)
            + len(history.transfers) + len(history.budgets) + len(history.notifications))
