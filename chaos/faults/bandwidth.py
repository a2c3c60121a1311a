"""A slow link: the answer's body arrives at `bytes_per_s`, in chunks, after its headers.

The status line and headers go at once; then each chunk is sent only when the rate
allows it (wait, then send), so the client never gets the body faster than the rate.
A chunk is a TCP segment's worth (1460 bytes) or a quarter second's worth at high
rates: on a slow link a phone waits seconds between chunks, so its read timeout can
fire in the middle of the body, as on a real one.

The waits are one `exchange.span`: a dribbled body takes a slot among the requests a
process may hold, like a long latency, and between chunks the thread sleeps on the
decider's condition (it never spins). When no slot is free, or the rule stops applying
(the kill switch, a disable, its ttl), the rest of the body goes at once. A body that
would need more than MAX_S at this rate is cut there: what the rate allows in MAX_S
arrives, then the connection closes (FIN), so no thread is held longer than a latency
fault may hold one. A client that hangs up meanwhile is noticed within CHECK_S (the
waits come in parts that long, and the connection is looked at between them): the
dribble ends and its slot is free for another request.
"""
import time

from marshmallow import Schema, validate

from .. import connection
from .base import Exchange, Fault
from ..fields import WholeNumber

MAX_S = 60.0             # longest a body is dribbled (latency's cap)
MAX_BYTES_PER_S = 100_000_000
SEGMENT_BYTES = 1460     # one TCP segment on Ethernet: a slow link's natural chunk
MAX_CHUNK_BYTES = 64 * 1024
CHECK_S = 1.0            # how often a long wait looks whether the client is still there


class BandwidthSettings(Schema):
    bytes_per_s = WholeNumber(required=True, validate=validate.Range(1, MAX_BYTES_PER_S))


def whole_body(exchange: Exchange) -> bytes:
    """The answer's body in full (its status and headers already given to the server)."""
    body = exchange.forward()
    try:
        return b"".join(body)
    finally:
        if hasattr(body, "close"):
            body.close()


class BandwidthFault(Fault):
    type = "bandwidth"
    Settings = BandwidthSettings

    def __init__(self, bytes_per_s: int):
        self.bytes_per_s = bytes_per_s
        self.chunk_bytes = min(max(SEGMENT_BYTES, bytes_per_s // 4), MAX_CHUNK_BYTES)

    def inject(self, exchange: Exchange):
        return self.dribble(exchange, whole_body(exchange))

    def dribble(self, exchange: Exchange, body: bytes):
        yield b""  # the server sends the status line and headers with the first write
        # what arrives within MAX_S (or what is left of a header's budget after its
        # earlier items waited: docs/reference.md, caller-chosen faults)
        fits = min(len(body), int(self.bytes_per_s * min(MAX_S, exchange.wait_budget_s)))
        sent, started = 0, time.monotonic()
        with exchange.span(fits / self.bytes_per_s) as wait:
            while wait is not None and sent < fits:
                end = min(sent + self.chunk_bytes, fits)
                if not self._wait_until(exchange, wait, started + end / self.bytes_per_s):
                    break  # the rule no longer applies: the rest at once
                yield body[sent:end]
                sent = end
            if wait is not None and sent == fits < len(body):  # too slow for this body
                raise connection.hang_up(exchange.environ)
        yield body[sent:]

    @staticmethod
    def _wait_until(exchange: Exchange, wait, until: float) -> bool:
        """`wait` until `until` (monotonic), in parts of at most CHECK_S; False when the
        rule stopped applying. Between parts, a client that hung up ends the answer."""
        while True:
            left = until - time.monotonic()
            if not wait(min(left, CHECK_S)):
                return False
            if left <= CHECK_S:
                return True
            if connection.client_gone(exchange.environ):
                raise connection.hang_up(exchange.environ)
