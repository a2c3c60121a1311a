import pytest

from bankapi import tokens
from bankapi.db import db
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
    assert client.get("/me", headers=alice.headers).status_code == 401


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Basic abc", "Bearer "])
def test_missing_or_bad_token_is_401(client, header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/accounts", headers=headers)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_token_carries_user_id_hint_for_chaos(alice):
    assert tokens.user_id_hint({"HTTP_AUTHORIZATION": f"Bearer {alice.token}"}) == alice.id
    assert tokens.user_id_hint({}) is None
