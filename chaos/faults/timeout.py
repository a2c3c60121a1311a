"""Nothing for `hang_ms`, then the connection closes without an answer.

A client whose own timeout is shorter sees a read timeout; one that waits sees
the connection close. The hang holds a server thread the whole time, as a stuck
backend would, so keep `hang_ms` below the server's worker timeout. The hang is
`exchange.hold`: when the process already holds its share of slow requests, or chaos
is disabled meanwhile, the connection closes at once instead (what the client would
have seen, only sooner).
"""

from marshmallow import Schema, validate

from .. import connection
from .base import Exchange, Fault
from ..fields import WholeNumber


class TimeoutSettings(Schema):
    hang_ms = WholeNumber(required=True, validate=validate.Range(0, 60_000))


class TimeoutFault(Fault):
    type = "timeout"
    Settings = TimeoutSettings

    def __init__(self, hang_ms: float):
        self.hang_ms = hang_ms

    def inject(self, exchange: Exchange):
        exchange.hold(self.hang_ms / 1000)
        raise connection.hang_up(exchange.environ)
