"""Security: other users' ids are 404, /admin needs its token, secrets never leave the bank,
input limits hold, and repeated failed logins are locked out.

Token expiry and logout are pinned in tests/bankapi/test_auth.py (test_expired_token_is_refused,
test_logout_kills_the_token) and not repeated here.
"""
import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bankapi import create_app, shutdown
from bankapi.clock import utcnow
from bankapi.database.db import db
from bankapi.models import LoginThrottle, User

# Every user-scoped route that takes an id, with another user's id in each place it goes.
FOREIGN_ID_REQUESTS = {
    ("GET", "/accounts/<account_id>"): ("/accounts/{acc}", None),
    ("GET", "/accounts/<account_id>/balance"): ("/accounts/{acc}/balance", None),
    ("GET", "/accounts/<account_id>/transactions"): ("/accounts/{acc}/transactions", None),
    ("POST", "/accounts/<account_id>/topup"): ("/accounts/{acc}/topup", {"amount": 100}),
    ("GET", "/transactions/<tx_id>"): ("/transactions/{tx}", None),
    ("POST", "/notifications/<ntf_id>/read"): ("/notifications/{ntf}/read", None),
    ("POST", "/payments"): ("/payments", {"account_id": "{acc}", "amount": 100,
                                          "merchant": "M", "category": "cash"}),
    ("POST", "/transfers"): ("/transfers", {"from_account_id": "{acc}", "amount": 100,
                                            "to_account_id": "{own}", "currency": "GBP"}),
    ("DELETE", "/budgets/<category>"): ("/budgets/groceries", None),  # only bob has one
    ("GET", "/payments/<payment_id>"): ("/payments/{pay}", None),
    ("DELETE", "/webhooks/<webhook_id>"): ("/webhooks/{whk}", None),
    ("GET", "/webhooks/<webhook_id>/deliveries"): ("/webhooks/{whk}/deliveries", None),
}
NOT_ID_SCOPED = {"/admin", "/budgets/<category>:PUT", "/admin/chaos"}


def _routes(app, prefix=""):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if rule.rule.startswith(prefix) and rule.endpoint != "static":
                yield method, rule


def test_the_table_covers_every_user_route_that_takes_an_id(app):
    taking_ids = {(m, r.rule) for m, r in _routes(app) if r.arguments
                  and not r.rule.startswith(("/admin", "/docs", "/openapi"))
                  and not (r.rule == "/budgets/<category>" and m == "PUT")}
    assert taking_ids <= set(FOREIGN_ID_REQUESTS), taking_ids - set(FOREIGN_ID_REQUESTS)


@pytest.fixture
def bobs(bob):
    bob.client.put("/budgets/groceries", json={"limit": 1_00}, headers=bob.headers)
    hook = bob.client.post("/webhooks", json={"url": "http://127.0.0.1:9/hook"},
                           headers=bob.headers).json["id"]
    paid = bob.post("/payments", json={"account_id": bob.account_id, "amount": 1,
                                       "merchant": "M", "category": "cash"}, key="bobs-pay")
    return {"acc": bob.account_id, "whk": hook, "pay": paid.json["id"],
            "tx": bob.get(f"/accounts/{bob.account_id}/transactions").json["transactions"][0]["id"],
            "ntf": bob.get("/notifications").json["notifications"][0]["id"]}


@pytest.mark.parametrize("route", list(FOREIGN_ID_REQUESTS), ids=" ".join)
def test_another_users_id_is_404_and_changes_nothing(alice, bob, bobs, route):
    path, body = FOREIGN_ID_REQUESTS[route]
    ids = {**bobs, "own": alice.account_id}
    if body:
        body = {k: v.format(**ids) if isinstance(v, str) else v for k, v in body.items()}
    before = bob.balance(), alice.balance()
    response = alice.client.open(path.format(**ids), method=route[0], json=body,
                                 headers={**alice.headers, "Idempotency-Key": "k"})
    assert response.status_code == 404, response.json
    assert response.json["error"]["code"] == "not_found"
    assert (bob.balance(), alice.balance()) == before


def test_every_admin_endpoint_refuses_a_missing_or_wrong_token(app, client):
    routes = list(_routes(app, "/admin"))
    assert len(routes) >= 15  # releases, audit, transfers and the whole chaos API
    for method, rule in routes:
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"x_\1", rule.rule)
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic eA=="},
                        {"Authorization": f"Bearer {app.config['ADMIN_TOKEN']}x"}):
            response = client.open(path, method=method, headers=headers, json={})
            assert response.status_code == 401, (method, path, headers, response.json)
            error = response.json["error"]
            assert error["code"] == "unauthorized" and error["request_id"], (method, path)


@pytest.mark.parametrize("app", [{"ACCESS_LOG": True}], indirect=True)
def test_tokens_and_password_hashes_never_leave_the_bank(app, client, alice, bob, caplog,
                                                         capsys, admin_headers):
    caplog.set_level(logging.DEBUG)
    login = client.post("/auth/login", json={"email": alice.email, "password": "correct horse"})
    token = login.json["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    bodies = []  # every answer but the login that issued the token
    for method, path, body in [
            ("GET", "/me", None), ("GET", "/accounts", None),
            ("GET", f"/accounts/{alice.account_id}/transactions", None),
            ("POST", "/transfers", {"from_account_id": alice.account_id, "amount": 1_00,
                                    "to_email": bob.email, "currency": "GBP"}),
            ("GET", "/notifications", None), ("GET", "/nowhere", None),
            ("POST", "/auth/login", {"email": alice.email, "password": "wrong password"}),
            ("POST", "/auth/register", {"email": alice.email, "password": "correct horse",
                                        "name": "Again"}),
            ("POST", "/auth/logout", None), ("GET", "/me", None)]:
        response = client.open(path, method=method, json=body,
                               headers={**headers, "Idempotency-Key": path})
        bodies.append(response.get_data(as_text=True))
    for path in ("/admin/transfers", "/admin/audit", "/admin/chaos", "/admin/chaos/events"):
        bodies.append(client.get(path, headers=admin_headers).get_data(as_text=True))
    with app.app_context():
        hashes = list(db.session.scalars(select(User.password_hash)))
    secrets = [token, alice.token, bob.token, "correct horse", token.split(".", 1)[1],
               *hashes, *(h.rsplit("$", 1)[-1] for h in hashes)]
    app.state.access_log.flush()  # its lines, on stderr
    logged = [record.getMessage() for record in caplog.records]
    logged += capsys.readouterr().err.splitlines()
    assert any('"route": "/me"' in line for line in logged)  # the access log was captured
    for secret in secrets:
        assert not [b for b in bodies if secret in b], secret[:12]
        assert not [line for line in logged if secret in line], secret[:12]


@pytest.mark.parametrize("method,path,body,field", [
    ("POST", "/auth/register", {"email": "a@example.com", "password": "x" * 129, "name": "A"},
     "password"),
    ("POST", "/auth/register", {"email": "a@example.com", "password": "long enough",
                                "name": "A" * 201}, "name"),
    ("POST", "/auth/register", {"email": "a" * 250 + "@example.com", "password": "long enough",
                                "name": "A"}, "email"),
    ("POST", "/auth/login", {"email": "a@example.com", "password": "p" * 129}, "password"),
    ("POST", "/transfers", {"from_account_id": "{acc}", "to_email": "b@example.com",
                            "amount": 1, "currency": "GBP", "reference": "r" * 141}, "reference"),
    ("POST", "/payments", {"account_id": "{acc}", "amount": 1, "category": "cash",
                           "merchant": "m" * 101}, "merchant"),
    ("POST", "/accounts", {"type": "savings", "name": "n" * 101}, "name"),
    ("POST", "/payments", {"account_id": "{acc}", "amount": 100_000_001, "category": "cash",
                           "merchant": "m"}, "amount"),
    ("GET", "/notifications?limit=101", None, "limit"),
    ("GET", "/accounts/{acc}/transactions?limit=0", None, "limit"),
    ("GET", "/notifications?cursor=" + "c" * 201, None, "cursor"),
])
def test_length_and_page_limits_are_400(alice, method, path, body, field):
    fill = {"acc": alice.account_id}
    if body:
        body = {k: v.format(**fill) if isinstance(v, str) and "{" in v else v
                for k, v in body.items()}
    response = alice.client.open(path.format(**fill), method=method, json=body,
                                 headers={**alice.headers, "Idempotency-Key": "limits"})
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "validation_error"
    assert response.json["error"]["field"] == field


def test_oversized_body_and_idempotency_key_are_refused(alice):
    huge = alice.post("/payments", key="big", data="{" + " " * 70_000 + "}",
                      content_type="application/json")
    assert huge.status_code == 413 and huge.json["error"]["code"] == "payload_too_large"
    long_key = alice.post("/payments", key="k" * 256, json={
        "account_id": alice.account_id, "amount": 1, "merchant": "M", "category": "cash"})
    assert long_key.status_code == 400 and long_key.json["error"]["field"] == "Idempotency-Key"


# --- repeated failed logins ---------------------------------------------------------------

def _login(client, email, password="wrong password"):
    return client.post("/auth/login", json={"email": email, "password": password})


def _expire_lock(app, email):
    with app.app_context():
        db.session.execute(update(LoginThrottle).where(LoginThrottle.email == email)
                           .values(locked_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()


@pytest.mark.parametrize("known", [True, False], ids=["customer", "unknown-email"])
def test_five_failed_logins_lock_the_email_with_retry_after(client, alice, known):
    email = alice.email if known else "nobody@example.com"
    assert [_login(client, email).status_code for _ in range(5)] == [401] * 5
    locked = _login(client, email, "correct horse")  # even the right password waits
    assert locked.status_code == 429
    assert locked.json["error"]["code"] == "too_many_attempts"
    assert 25 <= int(locked.headers["Retry-After"]) <= 30
    assert _login(client, "someone-else@example.com").status_code == 401  # per email


def test_lockout_doubles_per_failure_up_to_the_cap_and_success_resets(app, client, alice):
    for _ in range(5):
        _login(client, alice.email)
    waits = []
    for _ in range(7):
        _expire_lock(app, alice.email)
        assert _login(client, alice.email).status_code == 401
        waits.append(int(_login(client, alice.email).headers["Retry-After"]))
    assert waits == [60, 120, 240, 480, 900, 900, 900]
    _expire_lock(app, alice.email)
    assert _login(client, alice.email, "correct horse").status_code == 200
    assert [_login(client, alice.email).status_code for _ in range(5)] == [401] * 5


def test_a_lockout_is_shared_by_every_process_on_the_database(app, client, alice,
                                                              database_url):
    for _ in range(5):
        _login(client, alice.email)
    other = create_app({"DATABASE_URL": database_url, "CHAOS_ENABLED": False,
                        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})  # another worker
    try:
        assert _login(other.test_client(), alice.email, "correct horse").status_code == 429
    finally:
        shutdown(other)
