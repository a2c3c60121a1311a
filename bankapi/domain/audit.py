"""Ledger invariants, shared by `banksim audit` and GET /admin/audit.

Each check returns a count of violations (0 is healthy) and, when it fails,
a few example ids, so a corrupted ledger can be explained, not just detected.

Every check is one SQL statement that yields only the violating keys; the database
counts them and hands back at most EXAMPLES, so the audit's memory and Python work do
not grow with the ledger (10,000 customers' year is a million and a half entries).
"""
from sqlalchemy import String, cast, func, literal, literal_column, select, union_all
from sqlalchemy.orm import Session

from ..models import Account, IdempotencyKey, LedgerEntry, MonthlySpend, Payment

EXAMPLES = 5
UNSPENT = ("declined", "returned")  # card payments that no longer count as spending
# a card payment's later steps; seeded history has none (its daily card movements hold many
# card_payment entries under one id, and the authorisation is one INSERT by construction)
CARD_STEPS = ("card_settlement", "card_release", "card_return")


def _count_and_examples(session, query, *keys) -> tuple[int, list[tuple]]:
    """How many rows `query` yields and the first EXAMPLES by `keys`, in one statement:
    a window count rides along each example row (none when healthy). On PostgreSQL the
    query is a MATERIALIZED CTE: inlined, the examples' ORDER BY made the planner walk
    an index in key order and fetch a million entries at random (3.5 s instead of 0.5)."""
    bad = query.cte("bad").prefix_with("MATERIALIZED", dialect="postgresql")
    columns = [bad.c[key] for key in keys]
    rows = session.execute(select(*columns, func.count().over().label("violations_"))
                           .order_by(*columns).limit(EXAMPLES)).all()
    return (rows[0].violations_ if rows else 0), [tuple(row)[:len(keys)] for row in rows]


def _entries_sum_to_zero(session):
    bad = (select(LedgerEntry.currency, func.sum(LedgerEntry.amount).label("total"))
           .group_by(LedgerEntry.currency).having(func.sum(LedgerEntry.amount) != 0))
    count, rows = _count_and_examples(session, bad, "currency", "total")
    return count, [f"{currency}: {total}" for currency, total in rows], \
        "entries sum to zero per currency"


def _movements_balanced(session):
    bad = (select(LedgerEntry.movement_id).group_by(LedgerEntry.movement_id)
           .having(func.sum(LedgerEntry.amount) != 0))
    count, rows = _count_and_examples(session, bad, "movement_id")
    return count, [movement for movement, in rows], "every movement's entries sum to zero"


def _scanned(session, column):
    """`column` for a GROUP BY that should scan the table and sort. Left alone, SQLite walks
    the (account_id, created, id) index to skip the sort and then fetches every entry at
    random, three times slower at a million entries; a unary + hides the index from it."""
    if session.get_bind().dialect.name == "sqlite":
        return literal_column(f"+{column.table.name}.{column.name}")
    return column


def _balances_match_entries(session):
    sums = (select(LedgerEntry.account_id, func.sum(LedgerEntry.amount).label("total"))
            .group_by(_scanned(session, LedgerEntry.account_id)).subquery())
    bad = (select(Account.id).outerjoin(sums, sums.c.account_id == Account.id)
           .where(Account.balance != func.coalesce(sums.c.total, 0)))
    count, rows = _count_and_examples(session, bad, "id")
    return count, [account for account, in rows], "each balance equals the sum of its entries"


def _no_negative_balances(session):
    bad = select(Account.id).where(Account.user_id.is_not(None), Account.balance < 0)
    count, rows = _count_and_examples(session, bad, "id")
    return count, [account for account, in rows], "no customer balance is negative"


def _idempotency_keys_once(session):
    bad = (select(IdempotencyKey.movement_id).where(IdempotencyKey.movement_id.is_not(None))
           .group_by(IdempotencyKey.movement_id).having(func.count() > 1))
    count, rows = _count_and_examples(session, bad, "movement_id")
    return count, [movement for movement, in rows], \
        "each idempotency key's movement happened once"


def _month(session, column):
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.substr(cast(column, String), 1, 7)  # SQLite keeps "YYYY-MM-DD HH:MM:SS..."


def _budget_spent_matches(session):
    """Card spending per (user, month, category) minus MonthlySpend's figure, grouped
    together: a key whose difference is not zero is off, missing or extra."""
    card = (select(Account.user_id.label("user_id"),
                   _month(session, LedgerEntry.created).label("month"),
                   LedgerEntry.category.label("category"),
                   (-LedgerEntry.amount).label("spent"))
            .join(Account, Account.id == LedgerEntry.account_id)
            .where(LedgerEntry.kind == "card_payment", Account.user_id.is_not(None),
                   LedgerEntry.status.not_in(UNSPENT)))
    kept = select(MonthlySpend.user_id, MonthlySpend.month, MonthlySpend.category,
                  (literal(0) - MonthlySpend.spent).label("spent"))
    both = union_all(card, kept).subquery()
    bad = (select(both.c.user_id, both.c.month, both.c.category)
           .group_by(both.c.user_id, both.c.month, both.c.category)
           .having(func.sum(both.c.spent) != 0))
    count, rows = _count_and_examples(session, bad, "user_id", "month", "category")
    return count, [f"{user} {month} {category}" for user, month, category in rows], \
        "budget spent equals categorised card spending"


def _pending(session):
    """Pending payments' amounts per account, the money their holds stand for."""
    return (select(Payment.account_id, Payment.currency,
                   func.sum(Payment.amount).label("total"))
            .where(Payment.status == "pending")
            .group_by(Payment.account_id, Payment.currency).subquery())


def _held_matches_pending(session):
    pending = _pending(session)
    bad = (select(Account.id).outerjoin(pending, pending.c.account_id == Account.id)
           .where(Account.user_id.is_not(None),
                  Account.held != func.coalesce(pending.c.total, 0)))
    count, rows = _count_and_examples(session, bad, "id")
    return count, [account for account, in rows], \
        "each account's held equals its pending card payments"


def _holds_account_matches_pending(session):
    """The holds system account (per currency) holds exactly the pending payments."""
    pending = _pending(session)
    per_currency = (select(pending.c.currency, func.sum(pending.c.total).label("total"))
                    .group_by(pending.c.currency).subquery())
    holds = (select(Account.currency, Account.balance)
             .where(Account.user_id.is_(None), Account.name == "holds").subquery())
    both = union_all(
        select(holds.c.currency, holds.c.balance.label("amount")),
        select(per_currency.c.currency, (literal(0) - per_currency.c.total).label("amount"))
    ).subquery()
    bad = (select(both.c.currency, func.sum(both.c.amount).label("difference"))
           .group_by(both.c.currency).having(func.sum(both.c.amount) != 0))
    count, rows = _count_and_examples(session, bad, "currency", "difference")
    return count, [f"{currency}: {difference}" for currency, difference in rows], \
        "the holds account holds exactly the pending card payments"


def _each_step_once(session):
    """A payment's settlement, release and return each happened at most once: two legs
    each (two settlements of one payment would be four)."""
    bad = (select(LedgerEntry.movement_id, LedgerEntry.kind)
           .where(LedgerEntry.kind.in_(CARD_STEPS))
           .group_by(LedgerEntry.movement_id, LedgerEntry.kind).having(func.count() > 2))
    count, rows = _count_and_examples(session, bad, "movement_id", "kind")
    return count, [f"{movement} {kind}" for movement, kind in rows], \
        "each card payment's later steps happened once"


CHECKS = {
    "entries_sum_to_zero": _entries_sum_to_zero,
    "movements_balanced": _movements_balanced,
    "balances_match_entries": _balances_match_entries,
    "no_negative_balances": _no_negative_balances,
    "idempotency_keys_once": _idempotency_keys_once,
    "budget_spent_matches": _budget_spent_matches,
    "held_matches_pending": _held_matches_pending,
    "holds_account_matches_pending": _holds_account_matches_pending,
    "each_step_once": _each_step_once,
}


def run_audit(session: Session) -> dict:
    """`{ok, checks: {name: {ok, violations, description, examples}}}`."""
    checks = {}
    for name, check in CHECKS.items():
        count, examples, description = check(session)
        checks[name] = {"ok": not count, "violations": count, "description": description,
                        "examples": [str(example) for example in examples]}
    return {"ok": all(c["ok"] for c in checks.values()), "checks": checks}
