"""A database statement fails as the driver would fail it, with the driver's own exception.

`kind`:
- `operational`: the server gave up on the statement (PostgreSQL: QueryCanceled, a
  statement timeout; SQLite: "disk I/O error");
- `serialization`: a write conflict (PostgreSQL: SerializationFailure or DeadlockDetected,
  drawn with the rule's seeded generator; SQLite has neither, so "database is locked");
- `locked`: a lock could not be had (PostgreSQL: LockNotAvailable; SQLite: "database is
  locked", what a writer sees when the busy timeout runs out).

Every matching statement of the request fails: a host that retries the transaction
meets the fault again, as it would a conflict that does not go away.
"""
import importlib

from marshmallow import fields, validate

from .statements import DatabaseFault, StatementSettings

KINDS = ("operational", "serialization", "locked")
POSTGRES = {"operational": [("QueryCanceled", "canceling statement due to statement timeout")],
            "serialization": [("SerializationFailure",
                               "could not serialize access due to concurrent update"),
                              ("DeadlockDetected", "deadlock detected")],
            "locked": [("LockNotAvailable", "could not obtain lock on row")]}
SQLITE = {"operational": "disk I/O error", "serialization": "database is locked",
          "locked": "database is locked"}


class DbErrorSettings(StatementSettings):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))


class DbErrorFault(DatabaseFault):
    type = "db_error"
    Settings = DbErrorSettings

    def __init__(self, kind: str, statement: str | None = None):
        super().__init__(statement)
        self.kind = kind

    def on_statement(self, conn, cursor, active):
        raise driver_error(conn.dialect, self.kind, active.rng)


def driver_error(dialect, kind: str, rng) -> Exception:
    """The exception the dialect's own driver raises for this kind of failure."""
    dbapi = dialect.dbapi
    if dialect.name == "postgresql":
        errors = _errors_module(dbapi)
        name, message = rng.choice(POSTGRES[kind])
        cls = getattr(errors, name, None) if errors else None
        if cls is not None:
            return cls(message)
        return dbapi.OperationalError(message)
    return dbapi.OperationalError(SQLITE.get(kind, "database error")
                                  if dialect.name == "sqlite" else f"injected {kind} failure")


def _errors_module(dbapi):
    try:
        return importlib.import_module(f"{dbapi.__name__}.errors")
    except ImportError:
        return None
