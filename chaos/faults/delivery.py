"""The interface of a delivery fault: one that acts on an outgoing webhook delivery, not a request.

A host that sends events (webhooks) asks the decider, before each delivery attempt,
for a `DeliveryPlan` (`Decider.plan_delivery`); the first matching rule whose fault is
a delivery fault changes the plan, and the host carries it out. Like a request fault it
is small and dumb: matching (by `match.events`, users, cohort), probability, bursts and
TTL are the engine's. A delivery fault never matches an HTTP request, and a request
fault never a delivery.
"""
from abc import abstractmethod
from dataclasses import dataclass

from .base import Exchange, Fault


@dataclass(frozen=True)
class DeliveryPlan:
    """How the host sends one attempt: after `delay_s` (held back once, so that later
    events may overtake it), `copies` times, or not at all (`drop`: a failed attempt)."""
    delay_s: float = 0.0
    copies: int = 1
    drop: bool = False
    rule_id: str | None = None  # the rule that changed it


class DeliveryFault(Fault):
    for_delivery = True

    @abstractmethod
    def plan(self, plan: DeliveryPlan) -> DeliveryPlan:
        """The plan with this fault applied."""

    def inject(self, exchange: Exchange):  # never reached: the engine keeps them apart
        return exchange.forward()
