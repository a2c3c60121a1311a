"""One user never sees another's data: their ids answer 404, never 403."""
import pytest


@pytest.fixture
def bobs(bob):
    tx = bob.get(f"/accounts/{bob.account_id}/transactions").json["transactions"][0]["id"]
    ntf = bob.get("/notifications").json["notifications"][0]["id"]
    bob.client.put("/budgets/groceries", json={"limit": 1_00}, headers=bob.headers)
    return {"acc": bob.account_id, "tx": tx, "ntf": ntf}


@pytest.mark.parametrize("method,path,body", [
    ("GET", "/accounts/{acc}", None),
    ("GET", "/accounts/{acc}/balance", None),
    ("GET", "/accounts/{acc}/transactions", None),
    ("POST", "/accounts/{acc}/topup", {"amount": 100}),
    ("GET", "/transactions/{tx}", None),
    ("POST", "/notifications/{ntf}/read", None),
    ("POST", "/payments", {"account_id": "{acc}", "amount": 100, "merchant": "M",
                           "category": "cash"}),
    ("POST", "/transfers", {"from_account_id": "{acc}", "to_account_id": "{acc}",
                            "amount": 100, "currency": "GBP"}),
])
def test_another_users_resource_is_404(alice, bobs, method, path, body):
    if body:
        body = {k: v.format(**bobs) if isinstance(v, str) else v for k, v in body.items()}
    response = alice.client.open(path.format(**bobs), method=method, json=body,
                                 headers={**alice.headers, "Idempotency-Key": "k"})
    assert response.status_code == 404, response.json
    assert response.json["error"]["code"] == "not_found"


def test_budgets_and_notifications_are_per_user(alice, bobs):
    assert alice.get("/budgets").json["budgets"] == []
    assert bobs["ntf"] not in [n["id"] for n in alice.get("/notifications").json["notifications"]]
    assert alice.client.delete("/budgets/groceries", headers=alice.headers).status_code == 404
