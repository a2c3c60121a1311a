def test_new_user_has_an_empty_current_account(make_customer):
    carol = make_customer()
    accounts = carol.get("/accounts").json["accounts"]
    assert len(accounts) == 1
    account = accounts[0]
    assert account["type"] == "current" and account["currency"] == "GBP"
    assert account["balance"] == 0 and account["id"].startswith("acc_")


def test_open_savings_account(alice):
    response = alice.post("/accounts", json={"type": "savings", "name": "Rainy day"})
    assert response.status_code == 201
    assert response.json["type"] == "savings" and response.json["balance"] == 0
    assert alice.get(f"/accounts/{response.json['id']}").json["name"] == "Rainy day"
    assert len(alice.get("/accounts").json["accounts"]) == 2


def test_topup_creates_a_transaction_and_notification(make_customer):
    carol = make_customer()
    response = carol.topup(25_00)
    tx = response.json["transaction"]
    assert tx["amount"] == 25_00 and tx["kind"] == "topup" and tx["id"].startswith("tx_")
    assert carol.balance() == 25_00
    assert carol.get(f"/transactions/{tx['id']}").json["id"] == tx["id"]
    notes = carol.get("/notifications").json["notifications"]
    assert notes[0]["type"] == "money_in"


def test_balance_reports_spend_today(alice):
    alice.post("/payments", json={"account_id": alice.account_id, "amount": 12_34,
                                  "merchant": "Pret", "category": "eating_out"}, key="p1")
    body = alice.get(f"/accounts/{alice.account_id}/balance").json
    assert body == {"account_id": alice.account_id, "balance": 100_00,
                    "available": 100_00 - 12_34, "currency": "GBP", "spend_today": 12_34}


def test_transactions_newest_first_with_stable_cursor(alice):
    for n in range(5):
        alice.topup(100 + n)
    first = alice.get(f"/accounts/{alice.account_id}/transactions?limit=2").json
    amounts = [t["amount"] for t in first["transactions"]]
    assert amounts == [104, 103]
    alice.topup(999)  # a new row must not shift the next page
    second = alice.get(f"/accounts/{alice.account_id}/transactions?limit=2"
                       f"&cursor={first['next_cursor']}").json
    assert [t["amount"] for t in second["transactions"]] == [102, 101]
    rest = alice.get(f"/accounts/{alice.account_id}/transactions?limit=100"
                     f"&cursor={second['next_cursor']}").json
    assert [t["amount"] for t in rest["transactions"]] == [100, 100_00]
    assert rest["next_cursor"] is None


def test_transactions_filter_by_category_and_time(alice):
    alice.post("/payments", json={"account_id": alice.account_id, "amount": 500,
                                  "merchant": "Tesco", "category": "groceries"}, key="g")
    alice.post("/payments", json={"account_id": alice.account_id, "amount": 700,
                                  "merchant": "TfL", "category": "transport"}, key="t")
    url = f"/accounts/{alice.account_id}/transactions"
    groceries = alice.get(url + "?category=groceries").json["transactions"]
    assert [t["merchant"] for t in groceries] == ["Tesco"]
    assert alice.get(url + "?before=2000-01-01T00:00:00Z").json["transactions"] == []
    assert len(alice.get(url + "?since=2000-01-01T00:00:00Z").json["transactions"]) == 3
