"""Ledger invariants, shared by `banksim audit` and GET /admin/audit.

Each check returns a count of violations (0 is healthy) and, when it fails,
a few example ids, so a corrupted ledger can be explained, not just detected.
"""
from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from ..models import Account, IdempotencyKey, LedgerEntry, MonthlySpend

EXAMPLES = 5


def _entries_sum_to_zero(session):
    rows = session.execute(select(LedgerEntry.currency, func.sum(LedgerEntry.amount))
                           .group_by(LedgerEntry.currency)).all()
    bad = [f"{currency}: {total}" for currency, total in rows if total]
    return bad, "entries sum to zero per currency"


def _movements_balanced(session):
    rows = session.scalars(select(LedgerEntry.movement_id).group_by(LedgerEntry.movement_id)
                           .having(func.sum(LedgerEntry.amount) != 0))
    return list(rows), "every movement's entries sum to zero"


def _balances_match_entries(session):
    sums = (select(LedgerEntry.account_id, func.sum(LedgerEntry.amount).label("total"))
            .group_by(LedgerEntry.account_id).subquery())
    rows = session.scalars(select(Account.id).outerjoin(sums, sums.c.account_id == Account.id)
                           .where(Account.balance != func.coalesce(sums.c.total, 0)))
    return list(rows), "each balance equals the sum of its entries"


def _no_negative_balances(session):
    rows = session.scalars(select(Account.id).where(Account.user_id.is_not(None),
                                                    Account.balance < 0))
    return list(rows), "no customer balance is negative"


def _idempotency_keys_once(session):
    rows = session.scalars(select(IdempotencyKey.movement_id)
                           .where(IdempotencyKey.movement_id.is_not(None))
                           .group_by(IdempotencyKey.movement_id).having(func.count() > 1))
    return list(rows), "each idempotency key's movement happened once"


def _month(session, column):
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _budget_spent_matches(session):
    month = _month(session, LedgerEntry.created).label("month")
    actual = dict(((u, m, c), s) for u, m, c, s in session.execute(
        select(Account.user_id, month, LedgerEntry.category, -func.sum(LedgerEntry.amount))
        .join(Account, Account.id == LedgerEntry.account_id)
        .where(LedgerEntry.kind == "card_payment", Account.user_id.is_not(None))
        .group_by(Account.user_id, literal_column("month"), LedgerEntry.category)))
    kept = {(r.user_id, r.month, r.category): r.spent
            for r in session.scalars(select(MonthlySpend))}
    keys = set(actual) | set(kept)
    bad = [f"{k[0]} {k[1]} {k[2]}" for k in sorted(keys)
           if actual.get(k, 0) != kept.get(k, 0)]
    return bad, "budget spent equals categorised card spending"


CHECKS = {
    "entries_sum_to_zero": _entries_sum_to_zero,
    "movements_balanced": _movements_balanced,
    "balances_match_entries": _balances_match_entries,
    "no_negative_balances": _no_negative_balances,
    "idempotency_keys_once": _idempotency_keys_once,
    "budget_spent_matches": _budget_spent_matches,
}


def run_audit(session: Session) -> dict:
    """`{ok, checks: {name: {ok, violations, description, examples}}}`."""
    checks = {}
    for name, check in CHECKS.items():
        bad, description = check(session)
        checks[name] = {"ok": not bad, "violations": len(bad), "description": description,
                        "examples": [str(b) for b in bad[:EXAMPLES]]}
    return {"ok": all(c["ok"] for c in checks.values()), "checks": checks}
