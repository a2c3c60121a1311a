"""Each matching database statement of the request is `ms` slower: a database under a
lock, a slow disk, a replica far away. The answer is correct, only late.

The wait is the rule engine's hold, so the slow-fault cap and the kill switch apply to it
as to `latency`: past the cap, or once the rule stops applying, statements run at once.
"""
from marshmallow import validate

from ..fields import WholeNumber
from .latency import MAX_MS
from .statements import DatabaseFault, StatementSettings


class DbLatencySettings(StatementSettings):
    ms = WholeNumber(required=True, validate=validate.Range(0, MAX_MS))


class DbLatencyFault(DatabaseFault):
    type = "db_latency"
    Settings = DbLatencySettings

    def __init__(self, ms: int, statement: str | None = None):
        super().__init__(statement)
        self.ms = ms

    def on_statement(self, conn, cursor, active):
        active.hold(self.ms / 1000)
