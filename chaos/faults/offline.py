"""The device is offline for `for_s`: every request it sends is reset before any byte.

From the first request of a device (X-Device-Id) that the rule hits, every request of
that device the rule's `match` admits, for `for_s` seconds, gets a TCP reset before
any byte of an answer, whatever the rule's probability and bursts say; then the
device is served again. The window is sticky per device and shared by every server
process (the decider keeps it in chaos's tables: chaos/windows.py). A steady rule
takes each device offline once; a burst rule once per burst cycle, so a device loses
its signal again in the next "on" window (and a window ends with its cycle at the latest:
keep `for_s` within `off_s`). A request without X-Device-Id is reset on
its own, with no window. With `phase: after` the first request's work is committed
before its answer is lost (the money moved; the phone went into the tunnel).
"""
from marshmallow import Schema, validate

from .. import connection
from .base import Exchange, Fault
from ..fields import Number

MAX_FOR_S = 3600.0


class OfflineSettings(Schema):
    for_s = Number(required=True, validate=validate.Range(0, MAX_FOR_S, min_inclusive=False))


class OfflineFault(Fault):
    type = "offline"
    Settings = OfflineSettings

    def __init__(self, for_s: float):
        self.for_s = for_s

    @property
    def sticky_s(self) -> float:
        """How long a hit keeps the device under this fault (read by the decider)."""
        return self.for_s

    def inject(self, exchange: Exchange):
        raise connection.reset(exchange.environ)
