"""A doubled delivery: the same event, with the same id, is sent `times` times."""
from dataclasses import replace

from marshmallow import Schema, validate

from ..fields import WholeNumber
from .delivery import DeliveryFault, DeliveryPlan


class WebhookDuplicateSettings(Schema):
    times = WholeNumber(load_default=2, validate=validate.Range(2, 10))


class WebhookDuplicateFault(DeliveryFault):
    type = "webhook_duplicate"
    Settings = WebhookDuplicateSettings

    def __init__(self, times: int = 2):
        self.times = times

    def plan(self, plan: DeliveryPlan) -> DeliveryPlan:
        return replace(plan, copies=self.times)
