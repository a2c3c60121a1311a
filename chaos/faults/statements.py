"""What the three database faults share: the optional `statement` setting, and how they
act: not by answering for the app, but by being active while it runs (chaos/database.py),
so each of the request's matching statements meets the fault as it goes to the driver.

The client then sees whatever the host makes of a slow or failing database: that is the
point (a bank should answer 503 with Retry-After and have written nothing).

While the fault is active the WSGI environ carries `chaos.database_fault` (the fault's
type), so a host that runs some statements outside SQLAlchemy (the bank's balance read on
SQLite) knows to send them through the engine, where the fault meets them.
"""
from abc import abstractmethod

from marshmallow import Schema, fields, validate

from .. import database
from .base import Exchange, Fault

STATEMENT = fields.String(validate=validate.OneOf(["read", "write"]), metadata={
    "description": "only reads (SELECT) or only writes (INSERT, UPDATE, DELETE)"})


class StatementSettings(Schema):
    statement = STATEMENT


class DatabaseFault(Fault):
    """A fault on the request's database statements (`statement`: only reads or writes)."""

    below_app = True  # acts while the app runs: an "after" phase would come too late

    def __init__(self, statement: str | None = None):
        self.statement = statement

    def inject(self, exchange: Exchange):
        exchange.environ["chaos.database_fault"] = self.type
        with database.activated(self, exchange.rng, exchange.hold):
            return exchange.forward()

    @abstractmethod
    def on_statement(self, conn, cursor, active: database.Active) -> None:
        """Act on one matching statement just before it reaches the driver (raise to fail it)."""
