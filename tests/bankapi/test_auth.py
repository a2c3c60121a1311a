import pytest

from bankapi.domain import tokens
from bankapi.database.db import db
from bankapi.models import Token, User


def test_register_returns_user_and_token(client):
    response = client.post("/auth/register", json={"email": "New@Example.com",
                                                   "password": "long enough", "name": "New"})
    assert response.status_code == 201
    body = response.json
    assert body["user"]["email"] == "new@example.com"
    assert body["user"]["id"].startswith("user_")
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    assert "password" not in str(body)


def test_register_twice_is_email_taken(client, alice):
    response = client.post("/auth/register", json={"email": alice.email.upper(),
                                                   "password": "long enough", "name": "X"})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "email_taken"


def test_password_is_hashed(app, alice):
    with app.app_context():
        stored = db.session.get(User, alice.id).password_hash
    assert "correct horse" not in stored and stored.startswith("pbkdf2:")


def test_login_and_me(client, alice):
    response = client.post("/auth/login", json={"email": alice.email, "password": "correct horse"})
    assert response.status_code == 200
    token = response.json["access_token"]
    assert response.json["user_id"] == alice.id and response.json["token_type"] == "Bearer"
    me = client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json == {"id": alice.id, "email": alice.email, "name": "Alice",
                       "created": me.json["created"]}


@pytest.mark.parametrize("email,password", [("customer-x@example.com", "correct horse"),
                                            (None, "wrong password")])
def test_login_failures_are_invalid_credentials(client, alice, email, password):
    response = client.post("/auth/login", json={"email": email or alice.email,
                                                "password": password})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_credentials"


def test_logout_kills_the_token(client, alice):
    assert client.post("/auth/logout", headers=alice.headers).status_code == 204
    response = client.get("/me", headers=alice.headers)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_expired_token_is_refused(app, client, alice):
    with app.app_context():
        row = db.session.get(Token, tokens.digest(alice.token))
        row.expires_at = row.expires_at.replace(year=2000)
        db.session.commit()
    app.state.tokens.clear()  # as a process that never saw the token
    assert client.get("/me", headers=alice.headers).status_code == 401


def test_a_token_revoked_elsewhere_is_refused_once_the_cache_time_is_up(app, client, alice):
    """Another worker's logout deletes the row; this process trusts its cache until then."""
    cache = app.state.tokens
    now = [0.0]
    cache.clock = lambda: now[0]
    cache.clear()
    assert client.get("/me", headers=alice.headers).status_code == 200  # cached at t=0
    with app.app_context():
        db.session.delete(db.session.get(Token, tokens.digest(alice.token)))
        db.session.commit()
    now[0] = cache.ttl_s - 0.1
    assert client.get("/me", headers=alice.headers).status_code == 200
    now[0] = cache.ttl_s
    assert client.get("/me", headers=alice.headers).status_code == 401


def test_token_cache_keeps_no_entry_past_the_token_expiry():
    now = [100.0]
    cache = tokens.TokenCache(ttl_s=2, max_entries=2, clock=lambda: now[0])
    cache.put("a", "user_a", seconds_left=0.5)
    now[0] = 100.5
    assert cache.get("a") is None
    cache.put("b", "user_b", 60)
    cache.put("c", "user_c", 60)  # full: starts afresh
    assert (cache.get("b"), cache.get("c")) == (None, "user_c")
    assert tokens.TokenCache(ttl_s=0).get("c") is None


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Basic abc", "Bearer "])
def test_missing_or_bad_token_is_401(client, header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/accounts", headers=headers)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_token_carries_user_id_hint_for_chaos(alice):
    assert tokens.user_id_hint({"HTTP_AUTHORIZATION": f"Bearer {alice.token}"}) == alice.id
    assert tokens.user_id_hint({}) is None
