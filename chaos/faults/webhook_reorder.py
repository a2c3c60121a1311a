"""An overtaken delivery: the event is held `hold_ms` while the account's later events go ahead.

The host sends an account's events as they come due; holding one back lets every event
that comes due meanwhile arrive first, so a receiver sees its sequence numbers out of
order (and must re-order them by `sequence`)."""
from dataclasses import replace

from marshmallow import Schema, validate

from ..fields import WholeNumber
from .delivery import DeliveryFault, DeliveryPlan

MAX_MS = 600_000


class WebhookReorderSettings(Schema):
    hold_ms = WholeNumber(required=True, validate=validate.Range(1, MAX_MS))


class WebhookReorderFault(DeliveryFault):
    type = "webhook_reorder"
    Settings = WebhookReorderSettings

    def __init__(self, hold_ms: int):
        self.hold_ms = hold_ms

    def plan(self, plan: DeliveryPlan) -> DeliveryPlan:
        return replace(plan, delay_s=self.hold_ms / 1000)
