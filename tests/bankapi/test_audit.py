"""The audit's counts and examples are exact: each corruption is counted once per bad key,
and at most EXAMPLES keys come back, in key order (SQLite and, with
BANKSIM_TEST_DATABASE_URL, PostgreSQL)."""
import pytest
from sqlalchemy import delete, insert, select, update

from bankapi.database.db import db
from bankapi.domain.audit import EXAMPLES, run_audit
from bankapi.models import Account, IdempotencyKey, LedgerEntry, MonthlySpend


@pytest.fixture
def spent(app, alice):
    """Alice paid by card in three categories this month; returns her MonthlySpend keys."""
    for n, category in enumerate(["groceries", "personal_care", "transport"]):
        response = alice.post("/payments", key=f"card-{n}", json={
            "account_id": alice.account_id, "amount": 1_00 + n, "merchant": "Shop",
            "category": category})
        assert response.status_code == 201, response.json
    with app.app_context():
        rows = db.session.execute(select(MonthlySpend.user_id, MonthlySpend.month,
                                         MonthlySpend.category)
                                  .order_by(MonthlySpend.category)).all()
    assert len(rows) == 3
    return [f"{user} {month} {category}" for user, month, category in rows]


def _corrupt_and_audit(app, *statements) -> dict:
    with app.app_context():
        for statement in statements:
            db.session.execute(statement)
        db.session.commit()
        return run_audit(db.session)


def _failing(result: dict) -> dict:
    return {name: (check["violations"], check["examples"])
            for name, check in result["checks"].items() if not check["ok"]}


def test_a_clean_ledger_has_no_violations(app, spent):
    result = _corrupt_and_audit(app)
    assert result["ok"] and _failing(result) == {}
    assert all(c["violations"] == 0 and c["examples"] == [] for c in result["checks"].values())


def test_a_monthly_spend_row_off_by_one(app, spent):
    result = _corrupt_and_audit(app, update(MonthlySpend)
                                .where(MonthlySpend.category == "personal_care")
                                .values(spent=MonthlySpend.spent + 1))
    assert not result["ok"]
    assert _failing(result) == {"budget_spent_matches": (1, [spent[1]])}


def test_a_missing_monthly_spend_row(app, spent):
    result = _corrupt_and_audit(app, delete(MonthlySpend)
                                .where(MonthlySpend.category == "transport"))
    assert _failing(result) == {"budget_spent_matches": (1, [spent[2]])}


def test_extra_monthly_spend_rows_are_counted_and_a_few_shown(app, alice, spent):
    extra = [{"user_id": alice.id, "month": f"2001-0{n}", "category": "groceries",
              "spent": 5_00, "count": 1} for n in range(1, 8)]
    zero = {"user_id": alice.id, "month": "2001-09", "category": "bills", "spent": 0,
            "count": 0}  # nothing spent either way: not a violation
    result = _corrupt_and_audit(app, insert(MonthlySpend).values(extra + [zero]))
    expected = [f"{alice.id} 2001-0{n} groceries" for n in range(1, EXAMPLES + 1)]
    assert _failing(result) == {"budget_spent_matches": (7, expected)}


def test_balances_off_are_counted_once_per_account(app, alice, bob, make_customer):
    carol = make_customer(balance=10_00)
    ids = sorted([alice.account_id, bob.account_id, carol.account_id])
    result = _corrupt_and_audit(app, update(Account).where(Account.id.in_(ids))
                                .values(balance=Account.balance + 1))
    assert _failing(result) == {"balances_match_entries": (3, ids)}


def test_a_negative_customer_balance(app, alice, spent):
    entry = LedgerEntry.__table__
    result = _corrupt_and_audit(
        app, update(Account).where(Account.id == alice.account_id).values(balance=-5),
        # keep the entries agreeing with the balance, so only the sign is wrong
        update(entry).where(entry.c.account_id == alice.account_id, entry.c.kind == "topup")
        .values(amount=entry.c.amount - select(Account.balance).where(
            Account.id == alice.account_id).scalar_subquery()))
    failing = _failing(result)
    assert failing["no_negative_balances"] == (1, [alice.account_id])


def test_an_unbalanced_movement(app, alice, spent):
    with app.app_context():
        movement = db.session.scalar(select(LedgerEntry.movement_id)
                                     .where(LedgerEntry.account_id == alice.account_id,
                                            LedgerEntry.kind == "card_payment")
                                     .order_by(LedgerEntry.created).limit(1))
    result = _corrupt_and_audit(app, update(LedgerEntry)
                                .where(LedgerEntry.movement_id == movement,
                                       LedgerEntry.account_id != alice.account_id)
                                .values(amount=LedgerEntry.amount + 3))
    failing = _failing(result)
    assert failing["movements_balanced"] == (1, [movement])
    assert failing["entries_sum_to_zero"] == (1, ["GBP: 3"])
    assert failing["balances_match_entries"][0] == 1


def test_a_movement_behind_two_idempotency_keys(app, alice, spent):
    with app.app_context():
        key = db.session.scalars(select(IdempotencyKey)
                                 .where(IdempotencyKey.movement_id.is_not(None))).first()
        copy = {c.name: getattr(key, c.name) for c in IdempotencyKey.__table__.columns}
    result = _corrupt_and_audit(app, insert(IdempotencyKey).values({**copy, "key": "again"}))
    assert _failing(result) == {"idempotency_keys_once": (1, [copy["movement_id"]])}


def test_admin_audit_answers_the_same_shape(client, admin_headers, app, spent):
    _corrupt_and_audit(app, delete(MonthlySpend).where(MonthlySpend.category == "groceries"))
    body = client.get("/admin/audit", headers=admin_headers).json
    assert body["ok"] is False
    assert body["checks"]["budget_spent_matches"] == {
        "ok": False, "violations": 1, "examples": [spent[0]],
        "description": "budget spent equals categorised card spending"}
    assert set(body["checks"]["balances_match_entries"]) == {"ok", "violations", "description",
                                                             "examples"}
