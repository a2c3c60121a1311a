"""Monthly card spending per category, budgets against it, and the alerts they raise.

`MonthlySpend` is a running total kept by the ledger in the same transaction as
each card payment; `bankapi.domain.audit` recomputes it from the entries.
"""
from datetime import datetime
from functools import cache

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ..clock import month_of
from ..database.engines import dialect_insert, insert_for
from ..ids import new_id
from ..models import Budget, BudgetAlert, MonthlySpend
from .errors import NotFound
from .notifications import budget_crossed, note, notify

# The spending categories a card payment and a budget name (docs/reference.md, HTTP API).
CATEGORIES = ("general", "eating_out", "groceries", "transport", "shopping", "entertainment",
              "bills", "holidays", "personal_care", "cash")
WARNING_PCT = 80


def status_of(spent: int, limit: int) -> str:
    if spent >= limit:
        return "exceeded"
    return "warning" if spent * 100 >= limit * WARNING_PCT else "ok"


@cache
def _spend_statements(dialect: str):
    """The upserts a card payment runs, for one backend, built once (so their compiled form
    is reused): the month's total, returning the new total; a budget alert, returning its
    level only when it is new (RETURNING, not rowcount: an upsert's row count differs
    between backends)."""
    spends = insert_for(dialect, MonthlySpend.__table__)
    spend = spends.on_conflict_do_update(
        index_elements=["user_id", "month", "category"],
        set_={"spent": spends.table.c.spent + spends.excluded.spent,
              "count": spends.table.c.count + 1}).returning(spends.table.c.spent)
    alert = (insert_for(dialect, BudgetAlert.__table__).on_conflict_do_nothing()
             .returning(BudgetAlert.__table__.c.level))
    return spend, alert


LIMIT = select(Budget.__table__.c.limit).where(Budget.__table__.c.user_id == bindparam("user"),
                                               Budget.__table__.c.category == bindparam("cat"))


def record_spend(connection: Connection, user_id: str, category: str, amount: int,
                 at: datetime) -> None:
    """Add a card payment to the month's total and notify crossings of 80% and 100%."""
    month = month_of(at)
    spend, _ = _spend_statements(connection.dialect.name)
    spent = connection.scalar(spend, {"user_id": user_id, "month": month,
                                      "category": category, "spent": amount, "count": 1})
    limit = connection.scalar(LIMIT, {"user": user_id, "cat": category})
    if limit is not None:
        _alert(connection, user_id, month, category, status_of(spent, limit), spent, limit)


UNSPEND = (update(MonthlySpend.__table__)
           .where(MonthlySpend.__table__.c.user_id == bindparam("user"),
                  MonthlySpend.__table__.c.month == bindparam("month_"),
                  MonthlySpend.__table__.c.category == bindparam("cat"))
           .values(spent=MonthlySpend.__table__.c.spent - bindparam("amount"),
                   count=MonthlySpend.__table__.c.count - 1))


def unrecord_spend(connection: Connection, user_id: str, category: str, amount: int,
                   made_at: datetime) -> None:
    """Take a declined or returned card payment out of the month it was made in: the
    budget counts money spent. Alerts already sent stay sent."""
    connection.execute(UNSPEND, {"user": user_id, "month_": month_of(made_at),
                                 "cat": category, "amount": amount})


def _alert(connection, user_id, month, category, status, spent, limit) -> None:
    _, alert = _spend_statements(connection.dialect.name)
    levels = {"ok": (), "warning": ("warning",), "exceeded": ("warning", "exceeded")}[status]
    for level in levels:
        fresh = connection.execute(alert, {"user_id": user_id, "month": month,
                                           "category": category, "level": level}
                                   ).first() is not None
        if fresh and level == status:
            label = category.replace("_", " ")
            notify(connection, note(user_id, budget_crossed(level, label, spent, limit, month)))


def spending(session: Session, user_id: str, month: str) -> list[MonthlySpend]:
    return list(session.scalars(select(MonthlySpend).where(
        MonthlySpend.user_id == user_id, MonthlySpend.month == month)
        .order_by(MonthlySpend.spent.desc(), MonthlySpend.category)))


def budgets(session: Session, user_id: str, month: str) -> list[dict]:
    spent = {row.category: row.spent for row in spending(session, user_id, month)}
    rows = session.scalars(select(Budget).where(Budget.user_id == user_id)
                           .order_by(Budget.category))
    return [budget_view(b, spent.get(b.category, 0)) for b in rows]


def set_budget(session: Session, user_id: str, category: str, limit: int,
               now: datetime) -> dict:
    """Create or replace a category's budget in one upsert.

    Look-then-insert would race: two PUTs of one new category on PostgreSQL both miss the
    look and the second insert hits the (user, category) unique index, a 500. The upsert
    makes the loser an update, so both answer 200 and the last limit wins."""
    stmt = dialect_insert(session, Budget).values(id=new_id("bud"), user_id=user_id,
                                                  category=category, limit=limit, created=now)
    budget = session.execute(stmt.on_conflict_do_update(
        index_elements=["user_id", "category"], set_={"limit": limit})
        .returning(Budget.id, Budget.category, Budget.limit)).one()
    spent = session.scalar(select(MonthlySpend.spent).where(
        MonthlySpend.user_id == user_id, MonthlySpend.month == month_of(now),
        MonthlySpend.category == category)) or 0
    return budget_view(budget, spent)


def delete_budget(session: Session, user_id: str, category: str) -> None:
    """Remove the user's budget for a category; NotFound if there is none."""
    gone = session.execute(delete(Budget).where(Budget.user_id == user_id,
                                                Budget.category == category)).rowcount
    if not gone:
        raise NotFound(f"no budget for {category}", "category")


def budget_view(budget: Budget, spent: int) -> dict:
    return {"id": budget.id, "category": budget.category, "limit": budget.limit,
            "spent": spent, "remaining": budget.limit - spent,
            "status": status_of(spent, budget.limit)}
