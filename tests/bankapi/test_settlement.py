"""A card payment's life: pending with a hold, then settled, declined or returned, with the
balances, the holds account, the history, the notifications and the audit right at each
step; magic references; one settlement however many processes try."""
import json
import threading

import pytest
from sqlalchemy import select

from bankapi import create_app, shutdown
from bankapi.clock import utcnow
from bankapi.database.db import db
from bankapi.domain import settlement, status_history
from bankapi.domain.audit import run_audit
from bankapi.domain.ledger import system_account_id
from bankapi.models import Account, LedgerEntry, Payment
from bankapi.settler import Settler

ON_THE_CLOCK = [{"TEST_CLOCK": True}]


def pay(customer, key="p1", **overrides):
    body = {"account_id": customer.account_id, "amount": 30_00, "merchant": "Tesco",
            "category": "groceries", **overrides}
    return customer.post("/payments", json=body, key=key)


def settle(app) -> int:
    """One pass of the settlement worker, as `serve` runs it."""
    return Settler(app, interval_s=0).run_once()


def advance(client, admin_headers, seconds):
    response = client.post("/admin/clock/advance", json={"seconds": seconds},
                           headers=admin_headers)
    assert response.status_code == 200, response.json
    return response.json


def money(customer) -> tuple[int, int]:
    body = customer.get(f"/accounts/{customer.account_id}/balance").json
    return body["balance"], body["available"]


def system_balances(app) -> dict:
    with app.app_context():
        return {role: db.session.get(Account, system_account_id(role, "GBP")).balance
                for role in ("holds", "merchants")}


def audit_ok(app) -> bool:
    with app.app_context():
        result = run_audit(db.session)
    return result["ok"] or pytest.fail(str({n: c for n, c in result["checks"].items()
                                            if not c["ok"]}))


def card_entry(customer, payment_id):
    entries = customer.get(f"/accounts/{customer.account_id}/transactions").json
    return next(tx for tx in entries["transactions"]
                if tx["kind"] == "card_payment" and tx["amount"] == -30_00)


def notification_types(customer) -> list[str]:
    return [n["type"] for n in customer.get("/notifications").json["notifications"]]


@pytest.mark.parametrize("app", ON_THE_CLOCK, indirect=True)
def test_pending_then_settled_keeps_holds_balances_and_audit_right(app, client,
                                                                   admin_headers, alice):
    payment = pay(alice).json
    assert payment["status"] == "pending"
    assert money(alice) == (100_00, 70_00)
    assert system_balances(app) == {"holds": 30_00, "merchants": 0}
    account = alice.get(f"/accounts/{alice.account_id}").json
    assert (account["balance"], account["available"], account["held"]) == (100_00, 70_00, 30_00)
    assert audit_ok(app)

    assert settle(app) == 0  # not due yet: the delay has not passed on the bank's clock
    assert alice.get(f"/payments/{payment['id']}").json["status"] == "pending"

    advance(client, admin_headers, 6)
    assert settle(app) == 1
    assert settle(app) == 0  # idempotent: nothing left to do
    assert money(alice) == (70_00, 70_00)
    assert system_balances(app) == {"holds": 0, "merchants": 30_00}
    assert alice.get(f"/payments/{payment['id']}").json["status"] == "settled"
    entry = card_entry(alice, payment["id"])
    assert entry["status"] == "settled"
    assert [s["status"] for s in entry["status_history"]] == ["pending", "settled"]
    assert notification_types(alice)[0] == "payment_settled"
    assert audit_ok(app)


@pytest.mark.parametrize("app", ON_THE_CLOCK, indirect=True)
def test_magic_decline_releases_the_hold_and_the_budget(app, client, admin_headers, alice):
    alice.client.put("/budgets/groceries", json={"limit": 100_00}, headers=alice.headers)
    payment = pay(alice, reference="magic:decline").json
    assert payment["status"] == "pending" and money(alice) == (100_00, 70_00)
    advance(client, admin_headers, 6)
    assert settle(app) == 1
    assert money(alice) == (100_00, 100_00)
    assert system_balances(app) == {"holds": 0, "merchants": 0}
    assert alice.get(f"/payments/{payment['id']}").json["status"] == "declined"
    kinds = [tx["kind"] for tx in
             alice.get(f"/accounts/{alice.account_id}/transactions").json["transactions"]]
    assert kinds[0] == "card_release"
    assert alice.get("/budgets").json["budgets"][0]["spent"] == 0
    assert notification_types(alice)[0] == "payment_declined"
    assert audit_ok(app)


@pytest.mark.parametrize("app", ON_THE_CLOCK, indirect=True)
def test_magic_return_settles_then_returns_with_its_code(app, client, admin_headers, alice):
    payment = pay(alice, reference="magic:return:R07").json
    advance(client, admin_headers, 6)
    assert settle(app) == 1
    assert money(alice) == (70_00, 70_00)
    assert alice.get(f"/payments/{payment['id']}").json["status"] == "settled"
    advance(client, admin_headers, 6)
    assert settle(app) == 1
    answer = alice.get(f"/payments/{payment['id']}").json
    assert (answer["status"], answer["return_code"]) == ("returned", "R07")
    assert money(alice) == (100_00, 100_00)
    assert system_balances(app) == {"holds": 0, "merchants": 0}
    history = card_entry(alice, payment["id"])["status_history"]
    assert [s["status"] for s in history] == ["pending", "settled", "returned"]
    assert "R07" in alice.get("/notifications").json["notifications"][0]["body"]
    assert audit_ok(app)


@pytest.mark.parametrize("app", ON_THE_CLOCK, indirect=True)
def test_magic_slow_settles_only_after_ten_delays(app, client, admin_headers, alice):
    payment = pay(alice, reference="magic:slow").json
    advance(client, admin_headers, 6)
    assert settle(app) == 0
    advance(client, admin_headers, 40)
    assert settle(app) == 0
    assert alice.get(f"/payments/{payment['id']}").json["status"] == "pending"
    advance(client, admin_headers, 5)
    assert settle(app) == 1
    assert alice.get(f"/payments/{payment['id']}").json["status"] == "settled"


@pytest.mark.parametrize("reference", ["magic:nope", "magic:return:X1", "magic:return:R1",
                                       "magic:", "magic:decline "])
def test_an_unknown_magic_value_is_refused_naming_the_field(alice, assert_nothing_written,
                                                            reference):
    response = pay(alice, reference=reference)
    assert response.status_code == 400
    assert response.json["error"]["field"] == "reference"
    assert_nothing_written()


def test_the_hold_counts_against_what_can_be_spent(alice, bob):
    assert pay(alice, key="a", amount=80_00).status_code == 201
    refused = pay(alice, key="b", amount=30_00)
    assert refused.status_code == 422 and refused.json["error"]["code"] == "insufficient_funds"
    transfer = alice.post("/transfers", key="t", json={
        "from_account_id": alice.account_id, "to_email": bob.email,
        "amount": 30_00, "currency": "GBP"})
    assert transfer.status_code == 422
    assert transfer.json["error"]["code"] == "insufficient_funds"
    assert money(alice) == (100_00, 20_00) and money(bob) == (50_00, 50_00)


def test_a_status_change_from_a_stale_read_moves_nothing(app, alice):
    payment_id = pay(alice).json["id"]
    with app.app_context():
        with db.write() as session:
            row = session.connection().execute(settlement.ONE,
                                               {"payment_id": payment_id}).first()
        later = utcnow()
        with db.write() as session:
            assert settlement.change_status(session.connection(), row, "settled", later)
        with db.write() as session:  # the same stale row again: another process's attempt
            assert not settlement.change_status(session.connection(), row, "settled", later)
            assert not settlement.change_status(session.connection(), row, "declined", later)
        settlements = db.session.scalars(select(LedgerEntry.id).where(
            LedgerEntry.movement_id == payment_id, LedgerEntry.kind == "card_settlement")).all()
    assert len(settlements) == 2  # one movement: two legs
    assert money(alice) == (70_00, 70_00)
    assert audit_ok(app)


@pytest.mark.parametrize("app", [{"SETTLEMENT_DELAY_S": 0}], indirect=True)
def test_two_workers_never_settle_one_payment_twice(app, database_url, make_customer):
    """Two apps on one database, as two gunicorn workers: both settle the same due payments
    at once; each payment is settled exactly once."""
    customer = make_customer(balance=1_000_00)
    ids = [pay(customer, key=f"k{n}", amount=1_00).json["id"] for n in range(40)]
    other = create_app({"TESTING": True, "DATABASE_URL": database_url,
                        "SETTLEMENT_DELAY_S": 0})
    try:
        taken, start = [], threading.Barrier(2)

        def work(bank):
            start.wait()
            taken.append(sum(settle(bank) for _ in range(3)))
        threads = [threading.Thread(target=work, args=(bank,)) for bank in (app, other)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        shutdown(other)
    assert sum(taken) == 40
    with app.app_context():
        statuses = db.session.scalars(select(Payment.status).where(Payment.id.in_(ids))).all()
    assert statuses == ["settled"] * 40
    assert money(customer) == (960_00, 960_00)
    assert audit_ok(app)


@pytest.mark.parametrize("app", [{"SETTLEMENT_DELAY_S": 0}], indirect=True)
def test_a_crash_mid_settlement_leaves_the_payment_pending_for_the_next_pass(
        app, alice, monkeypatch):
    payment_id = pay(alice).json["id"]

    def crash(*_args):
        raise RuntimeError("the process died after moving the money, before committing")
    monkeypatch.setattr(status_history, "record", crash)
    with pytest.raises(RuntimeError):
        settle(app)
    assert alice.get(f"/payments/{payment_id}").json["status"] == "pending"
    assert money(alice) == (100_00, 70_00) and system_balances(app)["merchants"] == 0
    assert audit_ok(app)
    monkeypatch.undo()
    assert settle(app) == 1
    assert money(alice) == (70_00, 70_00)
    assert audit_ok(app)


@pytest.mark.parametrize("app", [{"SETTLEMENT_DELAY_S": 0}], indirect=True)
def test_a_payment_that_cannot_be_stepped_never_holds_back_the_others(
        app, alice, monkeypatch):
    """Steps share write transactions (ten at a time): when one of them fails, the others
    of its transaction are still taken, each on its own, and the pass reports the failure."""
    ids = [pay(alice, key=f"p{n}", amount=5_00).json["id"] for n in range(4)]
    real_step = settlement.step

    def step(session, payment_id, now):
        if payment_id == ids[1]:
            raise RuntimeError("this payment cannot be stepped")
        return real_step(session, payment_id, now)
    monkeypatch.setattr(settlement, "step", step)
    with pytest.raises(RuntimeError):
        settle(app)
    states = {i: alice.get(f"/payments/{i}").json["status"] for i in ids}
    assert states == {ids[0]: "settled", ids[1]: "pending", ids[2]: "settled",
                      ids[3]: "settled"}
    assert audit_ok(app)
    monkeypatch.undo()
    assert settle(app) == 1 and audit_ok(app)


def test_the_audit_finds_a_hold_without_its_payment(app, alice):
    pay(alice)
    with app.app_context():
        with db.write() as session:
            session.execute(Account.__table__.update()
                            .where(Account.id == alice.account_id).values(held=0))
        result = run_audit(db.session)
    assert not result["checks"]["held_matches_pending"]["ok"]


def test_the_audit_finds_a_payment_settled_twice(app, alice):
    payment_id = pay(alice).json["id"]
    with app.app_context():
        with db.write() as session:
            row = session.connection().execute(settlement.ONE,
                                               {"payment_id": payment_id}).first()
            settlement.change_status(session.connection(), row, "settled", utcnow())
        with db.write() as session:  # the claim skipped: what a race without it would do
            settlement._move_money(session.connection(), row, "settled", utcnow())
        result = run_audit(db.session)
    assert not result["checks"]["each_step_once"]["ok"]
    assert not result["checks"]["holds_account_matches_pending"]["ok"]


@pytest.mark.parametrize("reference", ["Lunch with Ada", "", "magic", "my magic:decline",
                                       "line one\nline two"])
def test_an_ordinary_reference_settles_normally(app, alice, reference):
    answer = pay(alice, reference=reference)
    assert answer.status_code == 201, answer.json
    assert answer.json["reference"] == reference
    with app.app_context():
        assert db.session.get(Payment, answer.json["id"]).outcome == "settled"


def test_another_users_payment_looks_like_none(alice, bob):
    payment_id = pay(alice).json["id"]
    for who, status in ((bob, 404), (alice, 200)):
        response = who.get(f"/payments/{payment_id}")
        assert response.status_code == status
    assert bob.get(f"/payments/{payment_id}").json["error"]["field"] == "payment_id"


def _events(app, account_id) -> list[tuple[str, str, str]]:
    from bankapi.models import WebhookEvent
    with app.app_context():
        rows = db.session.scalars(select(WebhookEvent).where(
            WebhookEvent.account_id == account_id).order_by(WebhookEvent.sequence)).all()
    return [(row.type, json.loads(row.data)["kind"], json.loads(row.data)["status"])
            for row in rows if row.type.startswith("transaction.")]


@pytest.mark.parametrize("app", ON_THE_CLOCK, indirect=True)
def test_every_step_tells_the_webhooks_in_its_own_transaction(app, client, admin_headers,
                                                              alice):
    """A step writes transaction.updated for the payment (its new status) and, when money
    comes back, transaction.created for that entry, in order on the account's sequence."""
    hook = alice.client.post("/webhooks", json={"url": "http://127.0.0.1:9/"},
                             headers=alice.headers)
    assert hook.status_code == 201, hook.json
    pay(alice, key="plain")
    pay(alice, key="declined", reference="magic:decline")
    pay(alice, key="returned", reference="magic:return:R01")
    advance(client, admin_headers, 6)
    assert settle(app) == 3
    advance(client, admin_headers, 6)
    assert settle(app) == 1  # the return
    events = _events(app, alice.account_id)
    assert events[:3] == [("transaction.created", "card_payment", "pending")] * 3
    steps = events[3:]
    assert sorted(steps) == sorted([
        ("transaction.updated", "card_payment", "settled"),
        ("transaction.updated", "card_payment", "settled"),
        ("transaction.created", "card_release", "declined"),
        ("transaction.updated", "card_payment", "declined"),
        ("transaction.created", "card_return", "returned"),
        ("transaction.updated", "card_payment", "returned")])
    assert audit_ok(app)
