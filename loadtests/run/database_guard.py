"""Whose data a run's database holds: a run resets it, so it asks first.

`banksim incident` seeds its bank with `banksim seed --reset`, which drops the bank's
tables. That is harmless on a database that holds nothing (no table has a row) and on one
an earlier run left as it was; anything else (customers someone seeded, a bank someone
served, a rule someone added) is theirs, and a run refuses it unless the user said
`--reset-database`.

An earlier run is recognised by its marker: the table `banksim_incident_run`, whose one
row a run writes once its seed is in and again after its processes have stopped, with the
row count of every other table then. The database is still that run's while every count
holds; a customer registered, a rule added or a re-seed since changes one, and the next
run refuses. A run killed outright (SIGKILL) leaves counts that no longer hold: refused too.
Counts, not contents: a value edited in place in an earlier run's database leaves every
count as it was and is not seen (docs/reference.md says so); anything added or removed is.
"""
import json
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import (Column, MetaData, String, Table, Text, create_engine, exc, func,
                        inspect, make_url, select, table)

MARKER = "banksim_incident_run"
_MARKER_TABLE = Table(MARKER, MetaData(), Column("run", Text),  # the report directory
                      Column("marked_at", String(40)), Column("row_counts", Text))
HOW = ("run with --reset-database to replace it anyway, or point BANKSIM_DATABASE_URL at "
       "an empty database (or unset it: each run then seeds a SQLite file of its own in "
       "its report directory)")


class RunRefused(RuntimeError):
    """A run that did not start: nothing was written, nothing was reset."""


class ForeignDatabase(RunRefused):
    """The database holds data no earlier run left there."""


class RunDatabase:
    """The database a run seeds: `check` before anything starts, `mark` once seeded and
    `mark_again` after the run's processes stopped."""

    def __init__(self, url: str, run: str = ""):
        self.url, self.run, self.marked = url, run, False

    def check(self, reset_allowed: bool) -> None:
        """Raise ForeignDatabase unless the reset can lose nothing anyone else made (or
        the user allowed it); RunRefused when the database cannot be read at all."""
        if reset_allowed:
            return
        try:
            if _missing_sqlite_file(self.url):
                return
        except exc.ArgumentError:
            raise RunRefused("BANKSIM_DATABASE_URL is not a database URL; e.g. "
                             "postgresql+psycopg://user@host:5432/db") from None
        with _database(self.url) as engine:
            counts, marker = _counts(engine), _marker(engine)
        filled = {name: n for name, n in counts.items() if n}
        if not filled or marker == counts:
            return
        where = make_url(self.url).render_as_string(hide_password=True)
        if marker is None:
            raise ForeignDatabase(
                f"{where} holds data banksim incident did not put there "
                f"({_listing(filled)}); a run resets the database, which would delete it: "
                f"{HOW}.")
        changed = sorted(name for name in {*marker, *counts}
                         if marker.get(name) != counts.get(name))
        then_now = ", ".join(f"{name}: {marker.get(name, 0)} rows then, "
                             f"{counts.get(name, 0)} now" for name in changed[:4])
        raise ForeignDatabase(
            f"{where} was an earlier banksim incident run's, but it changed since that run "
            f"({then_now}); a run resets the database, which would delete the changes: "
            f"{HOW}.")

    def mark(self) -> None:
        """Record that the database is this run's, with the row count of every table
        (RuntimeError if it cannot: the run has started, this is no refusal)."""
        try:
            self._mark()
        except RunRefused as error:
            raise RuntimeError(f"could not mark the database as this run's: {error}") from None
        self.marked = True

    def _mark(self) -> None:
        with _database(self.url) as engine:
            with engine.begin() as connection:
                _MARKER_TABLE.create(connection, checkfirst=True)
                connection.execute(_MARKER_TABLE.delete())
            counts = _counts(engine)
            with engine.begin() as connection:
                connection.execute(_MARKER_TABLE.insert().values(
                    run=self.run, marked_at=datetime.now(timezone.utc).isoformat(),
                    row_counts=json.dumps(counts, sort_keys=True)))

    def mark_again(self) -> None:
        """After the run: the counts as the run leaves them. Only if `mark` ran, so a seed
        that failed never makes someone's data look like a run's; a database gone by then
        keeps the first counts, and the next run refuses it (safe, and it says how)."""
        if self.marked:
            try:
                self._mark()
            except RunRefused:
                pass


@contextmanager
def _database(url: str):
    """An engine for one look at the database, disposed afterwards; a database that
    cannot be opened or read is RunRefused in one line."""
    engine = None
    try:
        engine = create_engine(url)
        yield engine
    except (exc.SQLAlchemyError, ModuleNotFoundError) as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise RunRefused(f"cannot use the database BANKSIM_DATABASE_URL names ({reason})"
                         ) from None
    finally:
        if engine is not None:
            engine.dispose()


def _missing_sqlite_file(url: str) -> bool:
    """A SQLite file that does not exist yet holds nothing (and must not be created here:
    its folder may not exist yet either)."""
    parsed = make_url(url)
    return (parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")
            and not Path(parsed.database).exists())


def _counts(engine) -> dict[str, int]:
    """Rows per table (every table but the marker), one short query each."""
    names = [name for name in inspect(engine).get_table_names() if name != MARKER]
    with engine.connect() as connection:
        return {name: connection.scalar(select(func.count()).select_from(table(name)))
                for name in sorted(names)}


def _marker(engine) -> dict[str, int] | None:
    """The counts an earlier run recorded, or None when no run marked the database."""
    if not inspect(engine).has_table(MARKER):
        return None
    with engine.connect() as connection:
        row = connection.execute(select(_MARKER_TABLE.c.row_counts)).first()
    try:
        return json.loads(row[0]) if row and row[0] else None
    except ValueError:
        return None


LISTED = 30  # a bank has about 20 tables; a database of someone else's may have thousands


def _listing(filled: dict[str, int]) -> str:
    names = sorted(filled)
    more = f" and {len(names) - LISTED} more tables with rows" if len(names) > LISTED else ""
    return ", ".join(f"{name}: {filled[name]} rows" for name in names[:LISTED]) + more
