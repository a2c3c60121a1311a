from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

from sqlalchemy import func, select

from bankapi.db import db
from bankapi.models import LedgerEntry, Transfer


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


def test_concurrent_requests_with_one_key_move_money_once(app, alice, bob):
    barrier = Barrier(2)

    def attempt(_):
        client = app.test_client()
        barrier.wait()
        return client.post("/transfers", headers={**alice.headers, "Idempotency-Key": "race"},
                           json={"from_account_id": alice.account_id,
                                 "to_account_id": bob.account_id, "amount": 10_00,
                                 "currency": "GBP"})

    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(attempt, range(2)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses in ([201, 201], [201, 409]), [r.json for r in responses]
    if statuses == [201, 201]:
        assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 1
    else:
        assert next(r for r in responses if r.status_code == 409).json["error"]["code"] \
            == "idempotency_conflict"
    assert alice.balance() == 90_00
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Transfer)) == 1
        assert db.session.scalar(select(func.count()).select_from(LedgerEntry)
                                 .where(LedgerEntry.kind == "transfer_out")) == 1
