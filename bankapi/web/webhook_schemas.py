"""Request and response schemas of the webhook endpoints (customers' and the admin's)."""
from apiflask import Schema
from apiflask.fields import Float, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range

from ..domain.destinations import MAX_URL
from ..domain.outbox import EVENT_TYPES
from .dumping import Out
from .fields import Pattern, UtcDateTime
from .pagination import CURSOR
from .schemas import Stamp, TransactionOut

STATES = ("pending", "delivered", "failed")


class WebhookIn(Schema):
    url = String(required=True, validate=Length(1, MAX_URL), metadata={
        "description": "http(s) to loopback or a public host", "example": "https://example.com/hook"})
    events = List(String(validate=OneOf(EVENT_TYPES)), validate=Length(1, len(EVENT_TYPES)),
                  metadata={"description": "absent: every event type"})


class WebhookPath(Schema):
    webhook_id = String(validate=Length(1, 64))


class DeliveriesQuery(Schema):
    limit = Integer(load_default=100, validate=Range(min=1, max=100_000),
                    metadata={"description": "the newest this many"})


class WebhookOut(Out):
    id = String(metadata={"example": "whk_3kq9w2x7a1b2c3d4"})
    url = String()
    events = List(String(metadata={"enum": list(EVENT_TYPES)}))
    created = Stamp()


class WebhookCreatedOut(WebhookOut):
    secret = String(metadata={"description": "signs every delivery; shown only here"})


class WebhooksOut(Out):
    webhooks = List(Nested(WebhookOut))


class DeliveryOut(Out):
    event_id = String()
    type = String(metadata={"enum": list(EVENT_TYPES)})
    account_id = String()
    sequence = Integer()
    transaction_id = String(allow_none=True)
    attempts = Integer()
    last_status = Integer(allow_none=True, metadata={"description": "the last HTTP answer"})
    last_error = String(allow_none=True)
    state = String(metadata={"enum": list(STATES)})
    created = Stamp(metadata={"description": "when the event was written"})
    delivered_at = Stamp(allow_none=True)
    latency_ms = Float(allow_none=True, metadata={"description": "event written -> delivered"})


class DeliveriesOut(Out):
    deliveries = List(Nested(DeliveryOut))


class LedgerQuery(Schema):
    since = UtcDateTime(required=True)
    limit = Integer(load_default=100, validate=Range(min=1, max=1000))
    cursor = String(validate=Pattern(CURSOR, error="not a cursor from this API"))


class LedgerOut(Out):
    transactions = List(Nested(TransactionOut))
    next_cursor = String(allow_none=True)
