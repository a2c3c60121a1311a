"""Integrity after a run: the ledger audit plus what the clients were told.

A transfer the client saw acknowledged (201) must be in the ledger exactly once, as it
was asked for and acknowledged: same id and reference, same amount and currency, from the
sender's account, to the intended payee's account. An intent (one reference, one
Idempotency-Key, any number of retries) must never produce two transfers. Intents whose
outcome the client never learned are allowed either way; they are counted, not judged.

The intended payee's account: a transfer to an email lands on that customer's current
account, which is the account that customer sends from, so every intent teaches which
account belongs to whom (`from_email` -> `from_account_id`). Where the run never saw
the payee send, the account the bank acknowledged stands in for it.
"""
from collections import Counter
from urllib.parse import urlencode


def reconcile(audit: dict, ledger_transfers: list[dict], intents: list[dict]) -> dict:
    checks = audit["checks"]
    ours = {i["intent"] for i in intents}  # the seeded history has references of its own
    by_reference = Counter(t["reference"] for t in ledger_transfers if t["reference"] in ours)
    by_id = {t["id"]: t for t in ledger_transfers}
    acked = [i for i in intents if i.get("acked")]
    lost = [i for i in acked if i.get("transfer_id") not in by_id]
    accounts = _accounts(intents)
    owners = {account: email for email, account in accounts.items()}
    mismatched = [i for i in acked if i.get("transfer_id") in by_id
                  and mismatch(i, by_id[i["transfer_id"]], accounts, owners)]
    duplicates = [ref for ref, n in by_reference.items() if n > 1 and ref]
    unknown = [i for i in intents if not i.get("acked") and i.get("status") is None]
    ledger_balanced = all(checks[name]["ok"] for name in
                          ("entries_sum_to_zero", "movements_balanced", "balances_match_entries"))
    negative = checks["no_negative_balances"]["violations"]
    return {
        "ok": bool(audit["ok"] and not lost and not duplicates and not mismatched),
        "ledger_balanced": ledger_balanced,
        "negative_balances": negative,
        "duplicate_transfers": len(duplicates),
        "lost_acknowledged_transfers": len(lost),
        "mismatched_acknowledged_transfers": len(mismatched),
        "acknowledged_transfers": len(acked),
        "unknown_outcome_transfers": len(unknown),
        "unknown_outcome_applied": sum(by_reference[i["intent"]] > 0 for i in unknown),
        "audit": {name: check["ok"] for name, check in checks.items()},
    }


def _accounts(intents: list[dict]) -> dict[str, str]:
    """{customer email: their current account}, learned from the accounts they sent from."""
    return {i["from_email"]: i["from_account_id"] for i in intents if i.get("from_email")}


def mismatch(intent: dict, row: dict, accounts: dict[str, str],
             owners: dict[str, str]) -> list[str]:
    """What differs between an acknowledged intent and its ledger row (empty: nothing)."""
    problems = []
    for key, want in (("reference", intent["intent"]), ("amount", intent["amount"]),
                      ("currency", intent.get("currency")),
                      ("from_account_id", intent["from_account_id"]),
                      ("to_account_id", accounts.get(intent["to_email"])
                       or intent.get("to_account_id"))):
        if want is not None and row.get(key) != want:
            problems.append(f"{key} {row.get(key)!r}, expected {want!r}")
    owner = owners.get(row["to_account_id"])
    if owner not in (None, intent["to_email"]):
        problems.append(f"paid {owner}, expected {intent['to_email']}")
    return problems


def all_transfers(admin) -> list[dict]:
    """Every transfer the bank holds (GET /admin/transfers, page by page), to reconcile."""
    transfers, cursor = [], None
    while True:
        query = urlencode({"limit": 1000, **({"cursor": cursor} if cursor else {})})
        page = admin("GET", f"/admin/transfers?{query}")
        transfers += page["transfers"]
        cursor = page["next_cursor"]
        if not cursor:
            return transfers
