import pytest
from sqlalchemy import update

from bankapi.database.db import db
from bankapi.models import Account, MonthlySpend


@pytest.mark.parametrize("header", [None, "Bearer wrong", "test-admin-token"])
def test_admin_needs_the_token(client, header):
    headers = {"Authorization": header} if header else {}
    for method, path in (("GET", "/admin/audit"), ("POST", "/admin/releases"),
                         ("PATCH", "/admin/releases/4.1.3")):
        response = client.open(path, method=method, headers=headers, json={})
        assert response.status_code == 401
        assert response.json["error"]["code"] == "unauthorized"


def test_audit_is_clean_after_traffic(client, admin_headers, alice, bob):
    alice.post("/transfers", key="a", json={"from_account_id": alice.account_id,
                                            "to_account_id": bob.account_id,
                                            "amount": 5_00, "currency": "GBP"})
    bob.post("/payments", key="b", json={"account_id": bob.account_id, "amount": 1_00,
                                         "merchant": "Boots", "category": "personal_care"})
    body = client.get("/admin/audit", headers=admin_headers).json
    assert body["ok"] is True
    assert set(body["checks"]) >= {"entries_sum_to_zero", "balances_match_entries",
                                   "no_negative_balances", "idempotency_keys_once",
                                   "budget_spent_matches"}


@pytest.mark.parametrize("corruption,check", [
    (update(Account).where(Account.type == "current").values(balance=Account.balance + 1),
     "balances_match_entries"),
    (update(Account).where(Account.type == "current").values(balance=-5),
     "no_negative_balances"),
    (update(MonthlySpend).values(spent=MonthlySpend.spent + 1), "budget_spent_matches"),
])
def test_audit_catches_corruption(app, client, admin_headers, alice, runner, corruption, check):
    alice.post("/payments", key="p", json={"account_id": alice.account_id, "amount": 1_00,
                                           "merchant": "Boots", "category": "personal_care"})
    with app.app_context():
        db.session.execute(corruption)
        db.session.commit()
    body = client.get("/admin/audit", headers=admin_headers).json
    assert body["ok"] is False and body["checks"][check]["ok"] is False


def test_admin_lists_all_transfers_for_reconciliation(client, admin_headers, alice, bob):
    for n in range(3):
        alice.post("/transfers", key=f"r{n}", json={"from_account_id": alice.account_id,
                                                    "to_account_id": bob.account_id,
                                                    "amount": 1_00, "currency": "GBP",
                                                    "reference": f"intent-{n}"})
    first = client.get("/admin/transfers?limit=2", headers=admin_headers).json
    rest = client.get(f"/admin/transfers?limit=2&cursor={first['next_cursor']}",
                      headers=admin_headers).json
    references = [t["reference"] for t in first["transfers"] + rest["transfers"]]
    assert references == ["intent-2", "intent-1", "intent-0"]
    assert rest["next_cursor"] is None


@pytest.mark.parametrize("path", ["/admin/clock/advance", "/admin/chaos/rules", "/admin/releases",
                                  "/admin/webhooks", "/admin/no-such-route"])
@pytest.mark.parametrize("header", [{}, {"Authorization": "Bearer wrong"}])
def test_admin_refuses_a_missing_or_wrong_token_before_reading_the_body(client, path, header):
    for body in ({"data": "x"}, {"data": "{{{", "content_type": "application/json"},
                 {"json": {"seconds": -5}}):
        response = client.post(path, headers=header, **body)
        assert response.status_code == 401, (path, body, response.json)
        assert response.json["error"]["code"] == "unauthorized"
