"""Each matching database statement of the request is `ms` slower: a database under a
lock, a slow disk, a replica far away. The answer is correct, only late.

The wait is the decider's hold, so the slow-fault cap and the kill switch apply to it
as to `latency`: past the cap, or once the rule stops applying, the statement and every
later one of the request run at once (a disable ends the request's delay, not only the
statement it caught). A request's statements wait `MAX_MS` (60 s) in all at most, as one
`latency` fault would: five writes at 60 s each would otherwise hold a thread five minutes.

On SQLite a held write statement holds the database's write lock (it is inside `BEGIN
IMMEDIATE`), so the bank's other writers wait behind it: that is the fault, a database
under a lock. The chaos layer's own state must not wait there, or the kill switch could
not be thrown while the fault runs: the bank keeps it in a database file of its own
(bankapi/__init__.py).
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
        seconds = min(self.ms, MAX_MS) / 1000
        seconds = min(seconds, MAX_MS / 1000 - active.held_s)
        if active.stopped or seconds <= 0:
            return
        active.held_s += seconds
        active.stopped = not active.hold(seconds)
