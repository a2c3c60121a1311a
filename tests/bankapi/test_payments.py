def pay(customer, key="p1", **overrides):
    body = {"account_id": customer.account_id, "amount": 4_50, "merchant": "Pret A Manger",
            "category": "eating_out"}
    body.update(overrides)
    return customer.post("/payments", json=body, key=key)


def test_payment_is_pending_and_holds_the_money(alice):
    response = pay(alice)
    assert response.status_code == 201
    body = response.json
    assert body["id"].startswith("pay_") and body["status"] == "pending"
    assert body["merchant"] == "Pret A Manger" and body["category"] == "eating_out"
    balance = alice.get(f"/accounts/{alice.account_id}/balance").json
    assert (balance["balance"], balance["available"]) == (100_00, 100_00 - 4_50)
    tx = alice.get(f"/accounts/{alice.account_id}/transactions").json["transactions"][0]
    assert (tx["kind"], tx["amount"], tx["category"]) == ("card_payment", -4_50, "eating_out")
    assert tx["status"] == "pending" and [step["status"] for step in tx["status_history"]] \
        == ["pending"]


def test_declined_payment_notifies_and_moves_nothing(alice):
    response = pay(alice, amount=100_01)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "insufficient_funds"
    assert alice.balance() == 100_00
    assert alice.get("/notifications").json["notifications"][0]["type"] == "payment_declined"


def test_unknown_account_is_404(alice):
    response = pay(alice, account_id="acc_0000")
    assert response.status_code == 404
    assert response.json["error"]["field"] == "account_id"
