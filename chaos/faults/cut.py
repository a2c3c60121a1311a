"""The connection closes after `after_bytes` of the body: a truncated answer.

The status line and headers are the app's own, Content-Length included, so the client
knows the body is short: on a keep-alive connection it sees the connection close
before the body it was promised (requests: ChunkedEncodingError / IncompleteRead).
The close is orderly (FIN): a reset could make the client's kernel drop the bytes it
has received but the client has not yet read, and the point is that exactly
`after_bytes` arrive. A body no longer than `after_bytes` arrives whole, and then the
connection closes. With `phase: after` the work is committed: the money moved, the
answer is cut.
"""
from marshmallow import Schema, validate

from .. import connection
from .bandwidth import whole_body
from .base import Exchange, Fault
from ..fields import WholeNumber

MAX_AFTER_BYTES = 10_000_000


class CutSettings(Schema):
    after_bytes = WholeNumber(required=True, validate=validate.Range(0, MAX_AFTER_BYTES))


class CutFault(Fault):
    type = "cut"
    Settings = CutSettings

    def __init__(self, after_bytes: int):
        self.after_bytes = after_bytes

    def inject(self, exchange: Exchange):
        return self.cut(exchange, whole_body(exchange))

    def cut(self, exchange: Exchange, body: bytes):
        yield body[:self.after_bytes]  # b"" still sends the status line and headers
        raise connection.hang_up(exchange.environ)
