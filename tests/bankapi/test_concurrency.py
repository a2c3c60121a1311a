"""No overdraft under concurrency: BEGIN IMMEDIATE on SQLite, row locks on PostgreSQL."""
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

from bankapi.domain.audit import run_audit
from bankapi.db import db

ATTEMPTS = 10


def test_ten_concurrent_payments_of_sixty_percent_only_one_succeeds(app, alice):
    barrier = Barrier(ATTEMPTS)

    def pay(n):
        client = app.test_client()
        barrier.wait()
        return client.post("/payments", headers={**alice.headers, "Idempotency-Key": f"p{n}"},
                           json={"account_id": alice.account_id, "amount": 60_00,
                                 "merchant": "Apple", "category": "shopping"})

    with ThreadPoolExecutor(ATTEMPTS) as pool:
        statuses = sorted(r.status_code for r in pool.map(pay, range(ATTEMPTS)))
    assert statuses == [201] + [422] * (ATTEMPTS - 1)
    assert alice.balance() == 40_00
    with app.app_context():
        assert run_audit(db.session)["ok"]


def test_opposite_transfers_do_not_deadlock(app, alice, bob):
    barrier = Barrier(ATTEMPTS)

    def move(n):
        sender, receiver = (alice, bob) if n % 2 else (bob, alice)
        client = app.test_client()
        barrier.wait()
        return client.post("/transfers", headers={**sender.headers, "Idempotency-Key": f"t{n}"},
                           json={"from_account_id": sender.account_id, "amount": 1_00,
                                 "to_account_id": receiver.account_id, "currency": "GBP"})

    with ThreadPoolExecutor(ATTEMPTS) as pool:
        statuses = [r.status_code for r in pool.map(move, range(ATTEMPTS))]
    assert statuses == [201] * ATTEMPTS
    assert alice.balance() + bob.balance() == 150_00
    assert alice.balance() == 100_00
