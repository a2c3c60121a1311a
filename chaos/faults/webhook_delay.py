"""A late delivery: the event waits `ms` before it is sent (once; retries are not delayed again)."""
from dataclasses import replace

from marshmallow import Schema, validate

from ..fields import WholeNumber
from .delivery import DeliveryFault, DeliveryPlan

MAX_MS = 600_000  # ten minutes: longer than the bank's default give-up time


class WebhookDelaySettings(Schema):
    ms = WholeNumber(required=True, validate=validate.Range(0, MAX_MS))


class WebhookDelayFault(DeliveryFault):
    type = "webhook_delay"
    Settings = WebhookDelaySettings

    def __init__(self, ms: int):
        self.ms = ms

    def plan(self, plan: DeliveryPlan) -> DeliveryPlan:
        return replace(plan, delay_s=self.ms / 1000)
