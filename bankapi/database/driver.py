"""The hottest one-statement read (a balance) run on the driver's own cursor.

SQLAlchemy's execution machinery (connection object, execution context, events, result
object) costs many times what sqlite3's cursor spends on the statement itself: 130-140 µs
against 9 µs for the balance query on this project's 2-core machine. A balance request costs
0.47 ms of CPU in-process through SQLAlchemy and 0.29 ms on the driver (benchmarks/README.md, R1).
A `DriverQuery` keeps the Core statement as the one source of the SQL: it is compiled once
per dialect, its parameters go through their types' own bind processors, and it runs on a
connection from the engine's own pool.

It only takes statements SQLAlchemy would add nothing to: no result column that needs
converting (a SQLite date is text until SQLAlchemy parses it), no parameter rendered at
execution time. `db.first()` decides which path a read takes; whatever the driver path
leaves out (events, error mapping, disconnect handling) stays with SQLAlchemy's path.
"""
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.sql import Select


class DriverFailed(Exception):
    """The driver raised; the connection has been thrown away (`DriverQuery.first`)."""


@dataclass(frozen=True)
class Plan:
    """A statement compiled for one dialect: its SQL and how to lay out its arguments."""

    sql: str
    order: tuple[str, ...] | None  # parameter names in order (qmark, format); None: named
    fixed: dict  # the statement's own literals (`coalesce(..., 0)`), already processed
    processors: dict[str, Callable]  # name -> the type's bind processor

    def arguments(self, params: dict):
        """The driver's arguments for `params` (name -> value, as for SQLAlchemy)."""
        values = {**self.fixed, **params}
        for name, process in self.processors.items():
            if name in params:
                values[name] = process(params[name])
        return values if self.order is None else tuple(values[name] for name in self.order)


def plan(statement: Select, dialect: Dialect) -> Plan:
    """Compile `statement`; ValueError if SQLAlchemy would still have work to do on it."""
    compiled = statement.compile(dialect=dialect)
    if compiled.literal_execute_params or compiled.post_compile_params:
        raise ValueError("a parameter rendered at execution time needs SQLAlchemy")
    for column in statement.selected_columns:
        if column.type.dialect_impl(dialect).result_processor(dialect, None) is not None:
            raise ValueError(f"column {column.key!r} needs SQLAlchemy's result processing")
    fixed, processors = {}, {}
    for bind, name in compiled.bind_names.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors[name] = process
        if not bind.required:
            value = bind.effective_value
            fixed[name] = process(value) if process is not None else value
    return Plan(compiled.string, tuple(compiled.positiontup) if compiled.positional else None,
                fixed, processors)


class DriverQuery:
    """One SELECT, run on a pooled driver connection: `first(engine, params)`."""

    def __init__(self, statement: Select):
        self.statement = statement
        self._plans: dict[str, Plan] = {}  # dialect name -> plan

    def first(self, engine: Engine, params: dict) -> tuple | None:
        """The first row as the driver returns it (a plain tuple), or None. A driver error
        throws the connection away (the pool opens a fresh one) and raises DriverFailed."""
        plan_ = self._plans.get(engine.dialect.name)
        if plan_ is None:
            plan_ = self._plans[engine.dialect.name] = plan(self.statement, engine.dialect)
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(plan_.sql, plan_.arguments(params))
                return cursor.fetchone()
            finally:
                cursor.close()
        except engine.dialect.loaded_dbapi.Error as error:
            connection.invalidate(error)
            raise DriverFailed(str(error)) from error
        finally:
            connection.close()
