"""ChaosStore: chaos's state in the database, shared by every server process.

The store owns the transactions; the statements themselves are in `queries`.

Give it an engine whose writes never wait for the host's own: on SQLite (one write lock
per file) a database file of its own. Otherwise a `db_latency` fault on the host's writes
holds the lock a disable needs, and the kill switch waits for the fault it should end.
It also owns this process's `Recorder` (buffered counters and events), so that
admin reads can flush it and show up-to-date numbers.
"""
import itertools
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from . import database, queries, rules
from .clock import now, rfc3339
from .models import Base, ChaosEvent
from .recorder import Recorder
from .schemas import NEVER_MATCHED


MAX_RULES = 1000


class RevisionUnreadable(SQLAlchemyError):
    """The driver failed to read the revision (`ChaosStore.revision`)."""


@dataclass(frozen=True)
class Snapshot:
    """Everything the decider needs, read in one transaction."""

    revision: int
    enabled: bool
    seed: int
    rules: tuple[queries.RuleDefinition, ...]
    settings: dict = None  # queries.settings: the caller-chosen fault setting


def _add_missing_columns(engine: Engine) -> None:
    """Tables made by an older banksim lack newer nullable columns: add them in place."""
    table = ChaosEvent.__tablename__
    if "device_id" not in {c["name"] for c in inspect(engine).get_columns(table)}:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN device_id VARCHAR(64)")


class ChaosStore:
    def __init__(self, engine: Engine, seed: int = 42, flush_interval_s: float = 0.5,
                 events_kept: int = 1000, max_rules: int = MAX_RULES,
                 match_headers: Iterable[str] = ()):
        self.engine, self.seed, self.events_kept = engine, seed, events_kept
        self.max_rules = max_rules
        self.event_types = None  # the host's webhook event types (chaos.init_app), or any
        self.allow_match_headers(match_headers)
        self.recorder = Recorder(self._write_records, flush_interval_s, events_kept)
        self._changes = itertools.count(1)
        self.changes = 0  # moves on every change made through this object
        self._listeners: list[Callable[[], None]] = []
        self._revision_sql = str(queries.REVISION.compile(
            dialect=engine.dialect, compile_kwargs={"literal_binds": True}))

    def allow_match_headers(self, names: Iterable[str]) -> None:
        """The request headers a rule's `match.headers` may name (the host's allow-list,
        lower-cased); credentials (schemas.NEVER_MATCHED) never, even when listed."""
        self.match_headers = frozenset(name.lower() for name in names) - NEVER_MATCHED

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call `listener()` after each change this store commits (the decider wakes
        the slow faults it holds, so a disable ends them at once, not at their next check)."""
        self._listeners.append(listener)

    @contextmanager
    def transaction(self):
        """Chaos's own statements: never hit by a database fault, even on the host's engine."""
        with database.suspended(), Session(self.engine, expire_on_commit=False) as session, \
                session.begin():
            yield session

    @contextmanager
    def changing(self):
        """A transaction that changes rules or state: the revision moves first (see queries)."""
        with self.transaction() as session:
            queries.bump_revision(session)
            yield session
        self._changed()

    def _changed(self) -> None:
        self.changes = next(self._changes)
        for listener in self._listeners:
            listener()

    def create_all(self) -> None:
        """Create chaos's tables and its state row (idempotent)."""
        Base.metadata.create_all(self.engine)
        _add_missing_columns(self.engine)
        with self.transaction() as session:
            queries.ensure_state(session, self.seed)
        self._changed()

    def drop_all(self) -> None:
        Base.metadata.drop_all(self.engine)
        self._changed()

    def status(self) -> dict:
        self.flush()
        self.purge_expired()
        with self.transaction() as session:
            state = queries.state(session)
            return {"enabled": state.enabled, "seed": state.seed, "revision": state.revision,
                    "settings": queries.settings(session),
                    "rules": [rules.to_dict(row) for row in queries.rules(session)]}

    def settings(self) -> dict:
        with self.transaction() as session:
            return queries.settings(session)

    def set_settings(self, raw) -> dict:
        """Replace the caller-chosen fault setting (validated first)."""
        values = rules.load_settings(raw)
        with self.changing() as session:
            queries.set_settings(session, values)
        return self.settings()

    def set_enabled(self, enabled: bool) -> dict:
        with self.changing() as session:
            queries.set_enabled(session, enabled)
        return self.status()

    def list_rules(self) -> list[dict]:
        self.flush()
        self.purge_expired()
        with self.transaction() as session:
            return [rules.to_dict(row) for row in queries.rules(session)]

    def get_rule(self, rule_id: str) -> dict:
        self.flush()
        with self.transaction() as session:
            return rules.to_dict(self._row(session, rule_id))

    def add_rules(self, raw_rules: list) -> list[dict]:
        """Validate every rule first, then add them all in one transaction (or none)."""
        loaded = [rules.load_rule(raw, self.match_headers, self.event_types) for raw in raw_rules]
        with self.changing() as session:
            return [rules.to_dict(row) for row in self._insert(session, loaded)]

    def apply_preset(self, name: str, raw_rules: list) -> list[dict]:
        """Add a preset's rules, replacing those an earlier application of it added."""
        loaded = [rules.load_rule(raw, self.match_headers, self.event_types) for raw in raw_rules]
        with self.changing() as session:
            queries.delete_rules(session, queries.preset_rule_ids(session, name))
            rows = self._insert(session, loaded)
            queries.remember_preset(session, name, [row.id for row in rows])
            return [rules.to_dict(row) for row in rows]

    def _insert(self, session, loaded: list[dict]) -> list:
        """Insert validated rules, or refuse them all when they would pass `max_rules`
        (the revision bump that opened the transaction serialises the count)."""
        if queries.count_rules(session) + len(loaded) > self.max_rules:
            raise rules.too_many_rules(self.max_rules)
        created_s = now()
        return [queries.add_rule(session, rules.new_rule_id(), fields, created_s)
                for fields in loaded]

    def add_rule(self, raw: dict) -> dict:
        return self.add_rules([raw])[0]

    def update_rule(self, rule_id: str, patch: dict) -> dict:
        self.flush()
        with self.changing() as session:
            row = self._row(session, rule_id)
            fields = rules.patched(rules.to_dict(row), patch, self.match_headers,
                                   self.event_types)
            return rules.to_dict(queries.update_rule(session, row, fields))

    def delete_rule(self, rule_id: str) -> None:
        with self.changing() as session:
            if not queries.delete_rules(session, [rule_id]):
                raise rules.not_found(f"rule {rule_id}")

    def clear_rules(self) -> int:
        with self.changing() as session:
            return queries.delete_rules(session)

    def events(self, limit: int = 100) -> list[dict]:
        """The newest injected faults first."""
        self.flush()
        with self.transaction() as session:
            return [{"at": rfc3339(e.at_s), "rule_id": e.rule_id, "fault": e.fault,
                     "phase": e.phase, "method": e.method, "path": e.path,
                     "app_version": e.app_version, "platform": e.platform,
                     "user_id": e.user_id, "device_id": e.device_id}
                    for e in queries.events(session, limit)]

    def revision(self) -> int | None:
        """The state's revision, or None when its row is missing. Every process asks it
        every refresh period while it has traffic or holds a fault, so it runs on the
        driver's own cursor: through an ORM session the read costs about 1.2 ms of CPU
        when it comes a quarter of a second after the last one, on the driver 0.3 ms
        (benchmarks/README.md, The bandwidth fault's CPU). A driver error (no connection,
        no table) raises RevisionUnreadable, a SQLAlchemyError as the ORM path's would be,
        and a connection that failed mid-read is thrown away."""
        failed = self.engine.dialect.loaded_dbapi.Error
        with database.suspended():
            try:  # the pool hands the driver's own error out when it cannot connect
                connection = self.engine.raw_connection()
            except failed as error:
                raise RevisionUnreadable(str(error)) from error
            try:
                cursor = connection.cursor()
                try:
                    cursor.execute(self._revision_sql)
                    row = cursor.fetchone()
                finally:
                    cursor.close()
            except failed as error:
                connection.invalidate(error)
                raise RevisionUnreadable(str(error)) from error
            finally:
                connection.close()
        return None if row is None else row[0]

    def snapshot(self) -> Snapshot | None:
        """The state and every enabled rule, or None when the tables are not set up."""
        with self.transaction() as session:
            state = queries.state(session)
            if state is None:
                return None
            definitions = tuple(queries.enabled_definitions(session))
            return Snapshot(state.revision, state.enabled, state.seed, definitions,
                            queries.settings(session))

    def purge_expired(self) -> None:
        """Delete rules whose ttl_s has run out."""
        with self.transaction() as session:
            expired = queries.expired_rule_ids(session, now())
        if expired:
            with self.changing() as session:
                queries.delete_rules(session, expired)

    def flush(self) -> None:
        """Write this process's buffered counters and events now."""
        self.recorder.flush()

    def close(self) -> None:
        """Stop the background flusher after a last flush (tests, shutdown)."""
        self.recorder.stop()
        self.flush()

    def _write_records(self, counts: dict, events: list[dict], purge: bool) -> None:
        if counts or events:
            with self.transaction() as session:  # writes first: see queries
                queries.add_counts(session, counts)
                queries.add_events(session, events, self.events_kept)
        if purge:
            self.purge_expired()

    @staticmethod
    def _row(session, rule_id: str):
        row = queries.rule(session, rule_id)
        if row is None:
            raise rules.not_found(f"rule {rule_id}")
        return row
