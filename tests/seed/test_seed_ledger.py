"""A seeded ledger obeys the bank's rules: the audit passes and the history looks real."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bankapi.domain import history, ledger
from bankapi.domain.audit import run_audit
from bankapi.models import Account, LedgerEntry, MonthlySpend, Transfer, User
from bankapi.domain.budgeting import CATEGORIES
from bankapi.domain.ledger import KINDS
from seed.calendar import months_back


def test_seeded_ledger_passes_audit(seeded):
    _, engine, _ = seeded
    with Session(engine) as session:
        result = run_audit(session)
    assert result["ok"], {n: c for n, c in result["checks"].items() if not c["ok"]}


def test_every_user_has_money_and_no_balance_is_negative(seeded):
    _, engine, stats = seeded
    with Session(engine) as session:
        current = dict(session.execute(select(Account.user_id, Account.balance)
                                       .where(Account.type == "current")).all())
        lowest = session.scalar(select(func.min(Account.balance))
                                .where(Account.user_id.is_not(None)))
        users = session.scalar(select(func.count()).select_from(User))
    assert users == stats["users"] == len(current) == 30
    assert all(balance > 0 for balance in current.values())
    assert lowest >= 0


def test_balances_equal_their_entries(seeded):
    _, engine, _ = seeded
    with Session(engine) as session:
        sums = dict(session.execute(select(LedgerEntry.account_id, func.sum(LedgerEntry.amount))
                                    .group_by(LedgerEntry.account_id)).all())
        balances = dict(session.execute(select(Account.id, Account.balance)).all())
        amounts = session.scalars(select(LedgerEntry.amount)).all()
    assert all(type(amount) is int for amount in amounts)  # pence, never floats
    assert {a: b for a, b in balances.items() if b} == {a: s for a, s in sums.items() if s}


def test_history_spans_the_requested_months(seeded, until):
    _, engine, _ = seeded
    start = months_back(until, 3)
    with Session(engine) as session:
        first, last = session.execute(select(func.min(LedgerEntry.created),
                                             func.max(LedgerEntry.created))).one()
        months = set(session.scalars(select(MonthlySpend.month).distinct()))
    assert start <= first < start + timedelta(days=1)
    assert until - timedelta(days=1) <= last < until
    assert months == {"2026-08", "2026-09", "2026-10", "2026-11"}


def test_users_send_each_other_money(seeded):
    _, engine, stats = seeded
    with Session(engine) as session:
        owner = dict(session.execute(select(Account.id, Account.user_id)).all())
        transfers = session.scalars(select(Transfer)).all()
        legs = dict(session.execute(select(LedgerEntry.movement_id, func.count())
                                    .where(LedgerEntry.kind.in_(["transfer_in", "transfer_out"]))
                                    .group_by(LedgerEntry.movement_id)).all())
    between_users = [t for t in transfers if owner[t.from_account_id] != owner[t.to_account_id]]
    assert len(transfers) == stats["transfers"]
    assert between_users, "no transfer between two customers"
    assert all(t.user_id == owner[t.from_account_id] for t in transfers)
    assert legs == {t.id: 2 for t in transfers}


def test_monthly_spend_matches_card_payments(seeded):
    _, engine, _ = seeded
    with Session(engine) as session:
        kept = session.scalar(select(func.sum(MonthlySpend.spent)))
        count = session.scalar(select(func.sum(MonthlySpend.count)))
        merchants = ledger.system_account_id("merchants", "GBP")
        cards = session.execute(select(-func.sum(LedgerEntry.amount), func.count())
                                .where(LedgerEntry.kind == "card_payment",
                                       LedgerEntry.account_id != merchants)).one()
        checks = run_audit(session)["checks"]
    assert (kept, count) == tuple(cards) and kept > 0
    assert checks["budget_spent_matches"]["ok"]


def test_entries_use_the_banks_kinds_and_categories(seeded):
    _, engine, _ = seeded
    with Session(engine) as session:
        kinds = set(session.scalars(select(LedgerEntry.kind).distinct()))
        categories = set(session.scalars(select(LedgerEntry.category).distinct())) - {None}
    assert kinds == set(KINDS) - {"card_settlement", "card_release", "card_return"}
    assert categories <= set(CATEGORIES) and len(categories) >= 6


def test_card_payments_happen_at_plausible_times(seeded):
    """Commuters tap in on weekdays; nobody buys their morning Pret coffee at midnight."""
    _, engine, _ = seeded
    with Session(engine) as session:
        tfl = session.scalars(select(LedgerEntry.created).where(
            LedgerEntry.merchant == "TfL", LedgerEntry.amount < 0)).all()
        small_pret = session.scalars(select(LedgerEntry.created).where(
            LedgerEntry.merchant == "Pret A Manger", LedgerEntry.amount > -500)).all()
    assert tfl and all(moment.weekday() < 5 for moment in tfl)
    assert all(6 <= moment.hour < 15 for moment in small_pret)


def test_post_history_rejects_an_unbalanced_movement(seeded, until):
    _, engine, _ = seeded
    external = ledger.system_account_id("external", "GBP")
    entry = history.EntryRow("tx_unbalanced", external, "top_unbalanced", 100, "GBP", "topup",
                             "Top-up", None, None, None, until)
    with Session(engine) as session, pytest.raises(ValueError, match="do not sum to zero"):
        with session.begin():
            history.post_history(session, [entry])
    with Session(engine) as session:
        assert session.get(LedgerEntry, "tx_unbalanced") is None
