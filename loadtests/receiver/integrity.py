"""The report's `webhooks` block: what the bank emitted, what the receiver got, whether they agree.

The integrity check is the receiver's view against the ledger, not against the outbox
(which is written with the ledger, so it would agree by construction): every customer
ledger entry (a movement's customer side) created while the webhook existed has exactly
one *effective* (deduplicated) `transaction.created` event at the receiver; every card
payment that moved on from pending has exactly one effective `transaction.updated` per step
of its life (settled; declined; settled then returned); and the receiver holds no event
the bank did not emit nor one about a transaction the ledger does not know.
"""
from collections import Counter

# The transaction.updated events a card payment's entry has had, by its status now.
STEPS = {"settled": ("settled",), "declined": ("declined",),
         "returned": ("settled", "returned")}


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1)


def webhooks_block(counts: dict, received: dict, deliveries: list[dict],
                   ledger: list[dict]) -> dict:
    """`counts` and `received` (effective events by id) from the receiver; `deliveries`
    from GET /admin/webhooks/{id}/deliveries; `ledger` from GET /admin/ledger."""
    delivered = [d for d in deliveries if d["state"] == "delivered"]
    delays = [d["latency_ms"] for d in delivered if d.get("latency_ms") is not None]
    emitted_ids = {d["event_id"] for d in deliveries}
    per_movement = Counter(event["data"].get("transaction_id") for event in received.values()
                           if event.get("type") == "transaction.created")
    entries = {entry["id"] for entry in ledger}
    updates = Counter((event["data"].get("transaction_id"), event["data"].get("status"))
                      for event in received.values() if event.get("type") == "transaction.updated")
    steps = {(entry["id"], status) for entry in ledger if entry.get("kind") == "card_payment"
             for status in STEPS.get(entry.get("status"), ())}
    missing = sorted(entries - set(per_movement)) + sorted(steps - set(updates))
    unknown = sorted(event_id for event_id, event in received.items()
                     if event_id not in emitted_ids
                     or (event.get("type", "").startswith("transaction.")
                         and event["data"].get("transaction_id") not in entries))
    most = max([*(per_movement[entry] for entry in entries),
                *(updates[step] for step in steps)], default=0)
    return {
        "emitted": len(deliveries),
        "delivered": len(delivered),
        "duplicates_received": counts.get("duplicates", 0),
        "out_of_order": counts.get("out_of_order", 0),
        "undelivered": len(deliveries) - len(delivered),
        "bad_signatures": counts.get("bad_signatures", 0),
        "delay_ms": {"p50": percentile(delays, 0.5), "p95": percentile(delays, 0.95),
                     "max": round(max(delays), 1) if delays else None},
        "integrity": {"ok": not missing and not unknown and most <= 1,
                      "missing_events": len(missing), "unknown_events": len(unknown),
                      "effective_per_movement_max": most},
    }
