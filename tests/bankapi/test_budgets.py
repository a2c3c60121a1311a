import uuid

import pytest


def spend(customer, amount, category="groceries", key=None):
    return customer.post("/payments", key=key or uuid.uuid4().hex, json={
        "account_id": customer.account_id, "amount": amount, "merchant": "Tesco",
        "category": category})


def test_budget_status_follows_spending(alice):
    assert alice.client.put("/budgets/groceries", json={"limit": 50_00},
                            headers=alice.headers).status_code == 200
    spend(alice, 30_00)
    budget = alice.get("/budgets").json["budgets"][0]
    assert (budget["spent"], budget["remaining"], budget["status"]) == (30_00, 20_00, "ok")
    spend(alice, 10_00)
    assert alice.get("/budgets").json["budgets"][0]["status"] == "warning"
    spend(alice, 10_00)
    assert alice.get("/budgets").json["budgets"][0]["status"] == "exceeded"


def test_budget_notifications_once_per_month(alice):
    alice.client.put("/budgets/groceries", json={"limit": 10_00}, headers=alice.headers)
    for _ in range(2):
        spend(alice, 8_50)
    spend(alice, 2_00)
    types = [n["type"] for n in alice.get("/notifications?limit=100").json["notifications"]]
    assert types.count("budget_warning") == 1
    assert types.count("budget_exceeded") == 1


def test_put_replaces_and_delete_removes(alice):
    alice.client.put("/budgets/transport", json={"limit": 10_00}, headers=alice.headers)
    response = alice.client.put("/budgets/transport", json={"limit": 20_00},
                                headers=alice.headers)
    assert response.json["limit"] == 20_00
    assert len(alice.get("/budgets").json["budgets"]) == 1
    assert alice.client.delete("/budgets/transport", headers=alice.headers).status_code == 204
    assert alice.get("/budgets").json["budgets"] == []
    assert alice.client.delete("/budgets/transport", headers=alice.headers).status_code == 404


@pytest.mark.parametrize("path,body,field", [
    ("/budgets/crypto", {"limit": 100}, "category"),
    ("/budgets/groceries", {"limit": 0}, "limit"),
    ("/budgets/groceries", {"limit": "10"}, "limit"),
])
def test_budget_bad_input(alice, path, body, field):
    response = alice.client.put(path, json=body, headers=alice.headers)
    assert response.status_code == 400
    assert response.json["error"]["field"] == field
    assert alice.get("/budgets").json["budgets"] == []


def test_other_months_are_empty(alice):
    alice.client.put("/budgets/groceries", json={"limit": 10_00}, headers=alice.headers)
    spend(alice, 5_00)
    body = alice.get("/budgets?month=2001-01").json
    assert body["month"] == "2001-01" and body["budgets"][0]["spent"] == 0
    assert alice.get("/budgets?month=2001-13").status_code == 400


def test_spending_insights_by_category(alice):
    spend(alice, 5_00, "groceries")
    spend(alice, 7_00, "groceries")
    spend(alice, 3_00, "transport")
    body = alice.get("/insights/spending").json
    assert body["total_spent"] == 15_00
    assert body["by_category"] == [{"category": "groceries", "spent": 12_00, "count": 2},
                                   {"category": "transport", "spent": 3_00, "count": 1}]
