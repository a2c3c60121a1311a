import pytest


def transfer(sender, key="t1", **overrides):
    body = {"from_account_id": sender.account_id, "amount": 10_00, "currency": "GBP",
            "reference": "pizza"}
    body.update(overrides)
    return sender.post("/transfers", json=body, key=key)


def test_transfer_by_account_id(alice, bob):
    response = transfer(alice, to_account_id=bob.account_id)
    assert response.status_code == 201
    body = response.json
    assert body["id"].startswith("tfr_") and body["status"] == "completed"
    assert body["to_account_id"] == bob.account_id and body["amount"] == 10_00
    assert alice.balance() == 90_00 and bob.balance() == 60_00


def test_transfer_by_email_writes_both_sides(alice, bob):
    assert transfer(alice, to_email=bob.email).status_code == 201
    out = alice.get(f"/accounts/{alice.account_id}/transactions").json["transactions"][0]
    into = bob.get(f"/accounts/{bob.account_id}/transactions").json["transactions"][0]
    assert (out["kind"], out["amount"]) == ("transfer_out", -10_00)
    assert (into["kind"], into["amount"]) == ("transfer_in", 10_00)
    assert out["counterparty_account_id"] == bob.account_id
    assert bob.get("/notifications").json["notifications"][0]["type"] == "money_in"


def test_transfer_to_own_savings(alice):
    savings = alice.post("/accounts", json={"type": "savings", "name": "S"}).json["id"]
    assert transfer(alice, to_account_id=savings).status_code == 201
    assert alice.balance(savings) == 10_00


def test_insufficient_funds_moves_nothing(alice, bob):
    response = transfer(alice, to_account_id=bob.account_id, amount=100_01)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "insufficient_funds"
    assert alice.balance() == 100_00 and bob.balance() == 50_00


@pytest.mark.parametrize("overrides,status,field", [
    ({"to_account_id": "acc_nope"}, 404, "to_account_id"),
    ({"to_email": "nobody@example.com"}, 404, "to_email"),
    ({"to_account_id": "SELF"}, 400, "to_account_id"),
    ({"to_account_id": "BOB", "currency": "EUR"}, 422, "currency"),
    ({"to_account_id": "BOB", "to_email": "x@example.com"}, 400, "to_account_id"),
    ({}, 400, "to_account_id"),
    ({"to_account_id": "acc_sys_external_gbp"}, 404, "to_account_id"),
])
def test_transfer_failures(alice, bob, overrides, status, field):
    overrides = {k: {"SELF": alice.account_id, "BOB": bob.account_id}.get(v, v)
                 for k, v in overrides.items()}
    response = transfer(alice, **overrides)
    assert response.status_code == status, response.json
    assert response.json["error"]["field"] == field
    assert alice.balance() == 100_00


def test_cannot_send_from_someone_elses_account(alice, bob):
    response = transfer(alice, from_account_id=bob.account_id, to_account_id=alice.account_id)
    assert response.status_code == 404
    assert bob.balance() == 50_00
