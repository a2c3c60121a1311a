"""The teaching switch: UNSAFE_LEDGER (check-then-act) overdraws and duplicates under
concurrency; the normal ledger, given exactly the same requests, stays clean."""
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from sqlalchemy import func, select

from bankapi.domain.audit import run_audit
from bankapi.database.db import db
from bankapi.models import Payment

ATTEMPTS = 10


def _concurrently(app, alice, keys):
    barrier = Barrier(len(keys))

    def pay(key):
        client = app.test_client()
        barrier.wait()
        return client.post("/payments", headers={**alice.headers, "Idempotency-Key": key},
                           json={"account_id": alice.account_id, "amount": 60_00,
                                 "merchant": "Apple", "category": "shopping"})

    with ThreadPoolExecutor(len(keys)) as pool:
        statuses = [r.status_code for r in pool.map(pay, keys)]
    with app.app_context():
        payments = db.session.scalar(select(func.count()).select_from(Payment))
        audit = run_audit(db.session)
    return statuses, payments, audit


@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
def test_ten_concurrent_payments_of_sixty_percent(app, alice, unsafe):
    app.config["UNSAFE_LEDGER"] = unsafe
    statuses, payments, audit = _concurrently(app, alice, [f"p{n}" for n in range(ATTEMPTS)])
    overdrafts = audit["checks"]["no_negative_balances"]["violations"]
    print(f"\n{'unsafe' if unsafe else 'safe'} ledger: {statuses.count(201)} of {ATTEMPTS} "
          f"payments of 60% accepted, balance {alice.available()}, "
          f"{overdrafts} overdrawn account(s)")
    if unsafe:
        assert statuses.count(201) > 1 and alice.available() < 0
        assert overdrafts == 1 and not audit["ok"]
        # the entries still balance: the damage is the overdraft, not the arithmetic
        assert audit["checks"]["balances_match_entries"]["ok"]
    else:
        assert sorted(statuses) == [201] + [422] * (ATTEMPTS - 1)
        assert alice.available() == 40_00 and payments == 1 and audit["ok"]


@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
def test_ten_concurrent_retries_of_one_key(app, alice, unsafe):
    app.config["UNSAFE_LEDGER"] = unsafe
    alice.topup(1_000_00)  # enough for every duplicate: only idempotency can stop them
    statuses, payments, audit = _concurrently(app, alice, ["same-key"] * ATTEMPTS)
    print(f"\n{'unsafe' if unsafe else 'safe'} ledger: one Idempotency-Key sent {ATTEMPTS} "
          f"times at once moved money {payments} time(s)")
    if unsafe:
        assert payments > 1 and alice.available() < 1_100_00 - 60_00
    else:
        assert payments == 1 and alice.available() == 1_100_00 - 60_00 and audit["ok"]
        assert set(statuses) <= {201, 409}  # 409 idempotency_conflict on PostgreSQL
