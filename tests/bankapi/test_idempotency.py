import os
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, func, select, text

from bankapi.database.db import db
from bankapi.domain.idempotency import advisory_lock_id
from bankapi.models import LedgerEntry, Transfer

PG_URL = os.environ.get("BANKSIM_TEST_DATABASE_URL")


def send(customer, to, key, amount=10_00):
    return customer.post("/transfers", key=key, json={
        "from_account_id": customer.account_id, "to_account_id": to.account_id,
        "amount": amount, "currency": "GBP"})


def test_retry_with_same_key_replays_response(alice, bob):
    first = send(alice, bob, "k")
    again = send(alice, bob, "k")
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert alice.balance() == 90_00 and bob.balance() == 60_00


def test_same_key_different_body_is_rejected(alice, bob):
    send(alice, bob, "k")
    response = send(alice, bob, "k", amount=11_00)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "idempotency_key_reused"
    assert alice.balance() == 90_00


def test_missing_key_is_400(alice, bob):
    response = send(alice, bob, None)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "idempotency_key_required"
    assert response.json["error"]["field"] == "Idempotency-Key"


def test_overlong_key_is_400(alice, bob):
    assert send(alice, bob, "x" * 256).status_code == 400


def test_keys_are_per_user(alice, bob):
    assert send(alice, bob, "shared").status_code == 201
    assert send(bob, alice, "shared").status_code == 201
    assert alice.balance() == 100_00 and bob.balance() == 50_00


def test_declines_are_replayed_too(alice, bob):
    first = send(alice, bob, "big", amount=500_00)
    alice.topup(1000_00)
    again = send(alice, bob, "big", amount=500_00)
    assert first.status_code == again.status_code == 422
    assert again.headers["Idempotent-Replayed"] == "true"


def _money_moved_once(app, alice):
    assert alice.balance() == 90_00
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Transfer)) == 1
        assert db.session.scalar(select(func.count()).select_from(LedgerEntry)
                                 .where(LedgerEntry.kind == "transfer_out")) == 1


@pytest.mark.skipif(PG_URL is None, reason="PostgreSQL's answer (SQLite: the next test)")
def test_a_duplicate_while_the_first_still_runs_is_409_on_postgres(app, alice, bob):
    """The first request holds the (user, key) advisory lock for its whole transaction;
    here another connection holds it, as a first request still running would."""
    engine = create_engine(PG_URL)
    try:
        with engine.connect() as first, first.begin():
            first.execute(text("SELECT pg_advisory_xact_lock(:id)"),
                          {"id": advisory_lock_id(alice.id, "race")})
            duplicate = send(alice, bob, "race")
            assert duplicate.status_code == 409
            assert duplicate.json["error"]["code"] == "idempotency_conflict"
            assert alice.balance() == 100_00
        assert send(alice, bob, "race").status_code == 201  # the lock is gone: it runs
    finally:
        engine.dispose()
    _money_moved_once(app, alice)


@pytest.mark.skipif(PG_URL is not None, reason="SQLite's answer (PostgreSQL: the test above)")
def test_a_duplicate_while_the_first_still_runs_waits_and_replays_on_sqlite(app, alice, bob,
                                                                            database_url):
    """BEGIN IMMEDIATE serialises writers: both requests queue behind a held write lock,
    then one does the work and the other finds its key and replays the answer."""
    holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    with ThreadPoolExecutor(2) as pool:
        pending = [pool.submit(send, alice, bob, "race") for _ in range(2)]
        time.sleep(0.5)  # both are now waiting for the write lock (never asserted on)
        assert not any(p.done() for p in pending)
        holder.execute("ROLLBACK")
        responses = [p.result() for p in pending]
    holder.close()
    assert [r.status_code for r in responses] == [201, 201]
    assert sorted(r.headers.get("Idempotent-Replayed", "") for r in responses) == ["", "true"]
    assert responses[0].json == responses[1].json
    _money_moved_once(app, alice)


def test_openapi_requires_the_key_exactly_where_the_bank_does(client, alice, bob):
    bodies = {"/transfers": {"from_account_id": alice.account_id, "currency": "GBP",
                             "to_account_id": bob.account_id, "amount": 1_00},
              "/payments": {"account_id": alice.account_id, "amount": 1_00,
                            "merchant": "Tesco", "category": "groceries"},
              "/accounts/{account_id}/topup": {"amount": 1_00}}
    spec = client.get("/openapi.json").json
    documented = {path for path, operations in spec["paths"].items()
                  for operation in operations.values()
                  if any(p["name"] == "Idempotency-Key" and p["required"]
                         for p in operation.get("parameters", []))}
    assert documented == set(bodies)
    for path, body in bodies.items():
        answer = alice.post(path.replace("{account_id}", alice.account_id), json=body)
        assert answer.status_code == 400
        assert answer.json["error"]["code"] == "idempotency_key_required"
