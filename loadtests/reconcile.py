"""Integrity after a run: the ledger audit plus what the clients were told.

A transfer the client saw acknowledged (201) must be in the ledger exactly once;
an intent (one reference, one Idempotency-Key, any number of retries) must never
produce two transfers. Intents whose outcome the client never learned are
allowed either way; they are counted, not judged.
"""
from collections import Counter


def reconcile(audit: dict, ledger_transfers: list[dict], intents: list[dict]) -> dict:
    checks = audit["checks"]
    ours = {i["intent"] for i in intents}  # the seeded history has references of its own
    by_reference = Counter(t["reference"] for t in ledger_transfers if t["reference"] in ours)
    ledger_ids = {t["id"] for t in ledger_transfers}
    acked = [i for i in intents if i.get("acked")]
    lost = [i for i in acked if i.get("transfer_id") not in ledger_ids]
    duplicates = [ref for ref, n in by_reference.items() if n > 1 and ref]
    unknown = [i for i in intents if not i.get("acked") and i.get("status") is None]
    ledger_balanced = all(checks[name]["ok"] for name in
                          ("entries_sum_to_zero", "movements_balanced", "balances_match_entries"))
    negative = checks["no_negative_balances"]["violations"]
    return {
        "ok": bool(audit["ok"] and not lost and not duplicates),
        "ledger_balanced": ledger_balanced,
        "negative_balances": negative,
        "duplicate_transfers": len(duplicates),
        "lost_acknowledged_transfers": len(lost),
        "acknowledged_transfers": len(acked),
        "unknown_outcome_transfers": len(unknown),
        "unknown_outcome_applied": sum(by_reference[i["intent"]] > 0 for i in unknown),
        "audit": {name: check["ok"] for name, check in checks.items()},
    }
