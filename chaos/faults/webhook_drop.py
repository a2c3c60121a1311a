"""A lost delivery: the attempt fails as if the network dropped it; the host's retries must
then get the event through."""
from dataclasses import replace

from marshmallow import Schema

from .delivery import DeliveryFault, DeliveryPlan


class WebhookDropFault(DeliveryFault):
    type = "webhook_drop"
    Settings = Schema

    def plan(self, plan: DeliveryPlan) -> DeliveryPlan:
        return replace(plan, drop=True)
