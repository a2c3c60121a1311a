"""Under concurrency: no overdraft (BEGIN IMMEDIATE on SQLite, row locks on PostgreSQL),
no deadlock, and no more password checks than the lock-out allows."""
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier

from sqlalchemy import update

from bankapi.clock import utcnow
from bankapi.domain.audit import run_audit
from bankapi.database.db import db
from bankapi.models import LoginThrottle

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
    assert alice.available() == 40_00
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


def _login_burst(app, email, count=40):
    barrier = Barrier(count)

    def guess(_n):
        client = app.test_client()
        barrier.wait()
        return client.post("/auth/login", json={"email": email, "password": "wrong guess"})

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(guess, range(count)))


def _retry_after(responses):
    return {int(r.headers["Retry-After"]) for r in responses if r.status_code == 429}


def test_login_bursts_get_the_limit_of_checks_and_the_documented_lockouts(app, alice):
    """5 checks then 30 s; once that lock ends, one more check then 60 s (not the burst's
    size in doublings). tests/test_served_bank.py does the first burst over HTTP."""
    first = _login_burst(app, alice.email)
    assert [r.status_code for r in first].count(401) == 5
    assert max(_retry_after(first)) <= 30
    with app.app_context():
        db.session.execute(update(LoginThrottle).where(LoginThrottle.email == alice.email)
                           .values(locked_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    second = _login_burst(app, alice.email)
    assert [r.status_code for r in second].count(401) == 1
    assert 30 < max(_retry_after(second)) <= 60
