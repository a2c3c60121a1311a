import threading

from bankapi.domain import magic


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


def test_magic_timeout_merchants_beyond_the_cap_answer_at_once(app, alice):
    """Each hanging merchant holds a server thread: at most a quarter of them hang at once,
    and a `magic:timeout` payment beyond that is answered at once (the others keep threads)."""
    assert isinstance(app.state.merchants, magic.Merchants)
    cap = magic.max_hanging(app.config["SERVER_THREADS"])
    assert cap == 2 and magic.max_hanging(1) == 1 and magic.max_hanging(16) == 4
    release, hanging = threading.Event(), []

    def hang(seconds):
        hanging.append(seconds)
        release.wait(10)
    merchants = app.state.merchants = magic.Merchants(cap, sleep=hang)
    held = [threading.Thread(target=merchants.wait_for, args=(magic.TIMEOUT,))
            for _ in range(cap)]
    for thread in held:
        thread.start()
    try:
        for _ in range(1000):
            if len(hanging) == cap:
                break
            release.wait(0.01)
        assert len(hanging) == cap
        response = pay(alice, reference=magic.TIMEOUT)
        assert response.status_code == 201 and response.json["status"] == "pending"
        assert len(hanging) == cap  # it did not wait
    finally:
        release.set()
        for thread in held:
            thread.join(10)
    assert merchants.wait_for(magic.TIMEOUT) and len(hanging) == cap + 1  # slots come back


def test_a_replayed_magic_timeout_payment_does_not_wait_again(app, alice):
    hanging = []
    app.state.merchants = magic.Merchants(1, sleep=hanging.append)
    first = pay(alice, key="slow-merchant", reference=magic.TIMEOUT)
    assert first.status_code == 201 and hanging == [magic.MERCHANT_HANG_S]
    again = pay(alice, key="slow-merchant", reference=magic.TIMEOUT)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json and hanging == [magic.MERCHANT_HANG_S]


def test_a_magic_timeout_payment_without_a_key_is_refused_without_waiting(app, alice):
    hanging = []
    app.state.merchants = magic.Merchants(1, sleep=hanging.append)
    body = {"account_id": alice.account_id, "amount": 4_50, "merchant": "Pret A Manger",
            "category": "eating_out", "reference": magic.TIMEOUT}
    response = alice.client.post("/payments", json=body, headers=alice.headers)
    assert response.status_code == 400 and hanging == []
