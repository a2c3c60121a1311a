"""Which delivery rule, if any, changes one webhook delivery attempt.

The delivery faults (`webhook_*`, chaos/faults/delivery.py) act on a host's outgoing
deliveries, never on requests: the host asks `Decider.plan_delivery` before each
attempt and gets a `DeliveryPlan`. Matching, cohorts and the seeded draw are the
decider's own (`chaos/decisions.py`), applied to the event's type and customer.
"""
from .draws import clip, hash64, in_cohort
from .faults import DeliveryPlan
from .metrics import count_injection


def plan(rules, recorder, event_type: str, user_id: str | None, event_id: str, attempt: int,
         now: float) -> DeliveryPlan:
    """The first delivery rule that matches (event type, user), has the user in its
    cohort, is in an on-window and fires changes the plan. The draw is a hash of (seed,
    rule, user, event id, attempt), so the same events are hit in every run with the same
    seed."""
    for rule in rules.rules if rules.enabled else ():
        if not rule.for_delivery:
            continue
        if rule.expires_s is not None and now >= rule.expires_s:
            recorder.expired_seen()
            continue
        if not rule.matcher.matches_delivery(event_type, user_id):
            continue
        if not in_cohort(rules.seed, rule.matcher.cohort or rule.id, user_id,
                         rule.matcher.cohort_percent):
            continue
        recorder.matched(rule.id)
        if not rule.active(now):
            continue
        if hash64(rules.seed, rule.id, user_id, event_id, attempt) / 2**64 >= rule.probability:
            continue
        recorder.injected(rule.id, {
            "at_s": now, "rule_id": rule.id, "fault": rule.fault_type, "phase": "delivery",
            "method": "POST", "path": f"webhook {event_type}"[:500], "app_version": None,
            "platform": None, "user_id": clip(user_id, 64), "device_id": None})
        count_injection(rule.id, rule.fault_type, "delivery", "other")
        return rule.fault.plan(DeliveryPlan(rule_id=rule.id))
    return DeliveryPlan()
