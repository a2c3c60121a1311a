"""Device sessions: refresh tokens from login and registration, single-use rotation by
POST /auth/refresh, expiry, logout ending the session, bad input, pruning, and a database
an older banksim created (tokens without session_id, no sessions table)."""
from datetime import timedelta

import pytest
from sqlalchemy import func, inspect, select, text, update

from bankapi import create_app, init_database, shutdown
from bankapi.clock import utcnow
from bankapi.database.db import db
from bankapi.domain import tokens
from bankapi.models import DeviceSession, SpentRefreshToken, Token
from bankapi.domain import retention
from bankapi.web import auth

PASSWORD = "correct horse"


def _login(client, customer):
    response = client.post("/auth/login", json={"email": customer.email, "password": PASSWORD})
    assert response.status_code == 200, response.json
    return response.json


def _refresh(client, refresh_token):
    return client.post("/auth/refresh", json={"refresh_token": refresh_token})


def _me(client, access_token):
    return client.get("/me", headers={"Authorization": f"Bearer {access_token}"})


def _refused(response):
    assert response.status_code == 401, response.json
    error = response.json["error"]
    assert error["code"] == "invalid_refresh_token" and error["message"] and error["request_id"]


def _sessions(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(DeviceSession))


def test_login_and_registration_answer_a_refresh_token(client, make_customer):
    register = client.post("/auth/register", json={"email": "fresh@example.com",
                                                   "password": PASSWORD, "name": "Fresh"})
    assert register.status_code == 201
    assert register.json["refresh_token"].startswith("rt_")
    assert {"user", "access_token", "token_type", "expires_in"} <= set(register.json)
    body = _login(client, make_customer())
    assert body["refresh_token"].startswith("rt_")
    assert body["refresh_token"] != register.json["refresh_token"]
    assert set(body) == {"access_token", "token_type", "expires_in", "user_id",
                         "refresh_token"}


def test_refresh_rotates_and_a_used_token_is_refused(app, client, alice):
    signed_in = _login(client, alice)
    first = _refresh(client, signed_in["refresh_token"])
    assert first.status_code == 200, first.json
    body = first.json
    assert body["user_id"] == alice.id and body["token_type"] == "Bearer"
    assert body["expires_in"] == app.config["TOKEN_TTL_S"]
    assert body["refresh_token"] not in (signed_in["refresh_token"], alice.token)
    assert body["access_token"] != signed_in["access_token"]
    assert _me(client, body["access_token"]).json["id"] == alice.id
    second = _refresh(client, body["refresh_token"])
    assert second.status_code == 200
    with app.app_context():  # one session throughout: registration's and this login's
        assert db.session.scalar(select(func.count()).select_from(DeviceSession)) == 2
        session_id = db.session.scalar(select(Token.session_id).where(
            Token.token_hash == tokens.digest(second.json["access_token"])))
        assert session_id == db.session.scalar(select(Token.session_id).where(
            Token.token_hash == tokens.digest(signed_in["access_token"])))
    _refused(_refresh(client, body["refresh_token"]))  # used: single use (and see below)


@pytest.mark.parametrize("replayer", ["thief after the owner", "owner after the thief"])
def test_reusing_a_rotated_refresh_token_ends_the_whole_session(app, client, alice, replayer):
    """OAuth's security BCP: a rotated-out token sent again means two parties hold the
    session and the bank cannot tell which is the owner, so the session ends for both."""
    stolen = _login(client, alice)
    first = _refresh(client, stolen["refresh_token"]).json  # one party rotates ...
    latest = _refresh(client, first["refresh_token"]).json  # ... and goes on
    _refused(_refresh(client, stolen["refresh_token"]))  # the other replays the copy
    _refused(_refresh(client, latest["refresh_token"]))
    for access_token in (stolen["access_token"], first["access_token"],
                         latest["access_token"]):
        assert _me(client, access_token).status_code == 401
    _refused(_refresh(client, first["refresh_token"]))  # the session is gone: nothing left
    assert _me(client, alice.token).status_code == 200  # her other session (registration)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SpentRefreshToken).where(
            SpentRefreshToken.refresh_hash == tokens.digest(stolen["refresh_token"]))) == 0


def test_only_digests_are_stored(app, client, alice):
    refresh_token = _login(client, alice)["refresh_token"]
    with app.app_context():
        stored = db.session.execute(select(DeviceSession)).scalars().all()
    assert tokens.digest(refresh_token) in {row.refresh_hash for row in stored}
    assert refresh_token not in str([vars(row) for row in stored])


@pytest.mark.parametrize("refresh_token", ["rt_unknown", "x", "user_1.abc"])
def test_an_unknown_refresh_token_is_refused(client, alice, refresh_token):
    _refused(_refresh(client, refresh_token))


def test_an_expired_refresh_token_is_refused(app, client, alice):
    signed_in = _login(client, alice)
    with app.app_context():
        row = db.session.scalar(select(DeviceSession).where(
            DeviceSession.refresh_hash == tokens.digest(signed_in["refresh_token"])))
        ttl = timedelta(seconds=app.config["REFRESH_TOKEN_TTL_S"])
        assert abs(row.expires_at - (utcnow() + ttl)) < timedelta(minutes=1)
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    _refused(_refresh(client, signed_in["refresh_token"]))


def test_refresh_checks_no_password(client, alice, monkeypatch):
    refresh_token = _login(client, alice)["refresh_token"]

    def no_hashing(*_args, **_kw):
        raise AssertionError("a refresh must not hash a password")
    monkeypatch.setattr(auth, "check_password_hash", no_hashing)
    monkeypatch.setattr(auth, "generate_password_hash", no_hashing)
    assert _refresh(client, refresh_token).status_code == 200


def test_logout_ends_the_session_and_no_other(app, client, alice):
    phone, tablet = _login(client, alice), _login(client, alice)
    refreshed = _refresh(client, phone["refresh_token"]).json
    assert client.post("/auth/logout", headers={
        "Authorization": f"Bearer {refreshed['access_token']}"}).status_code == 204
    _refused(_refresh(client, refreshed["refresh_token"]))
    assert _me(client, refreshed["access_token"]).status_code == 401
    assert _me(client, phone["access_token"]).status_code == 401  # same session, older token
    assert _me(client, tablet["access_token"]).status_code == 200
    assert _refresh(client, tablet["refresh_token"]).status_code == 200


@pytest.mark.parametrize("body,field", [
    ({}, "refresh_token"),
    ({"refresh_token": None}, "refresh_token"),
    ({"refresh_token": 42}, "refresh_token"),
    ({"refresh_token": ["rt_x"]}, "refresh_token"),
    ({"refresh_token": ""}, "refresh_token"),
    ({"refresh_token": "r" * 257}, "refresh_token"),
    ({"refresh_token": "rt_\x00"}, "refresh_token"),
    ({"refresh_token": "rt_\ud800"}, "refresh_token"),
    ({"refresh_token": "rt_x", "surprise": 1}, "surprise"),
])
def test_bad_refresh_bodies_name_the_field(assert_nothing_written, app, client, body, field):
    response = client.post("/auth/refresh", json=body)
    assert response.status_code == 400, response.json
    error = response.json["error"]
    assert error["code"] == "validation_error" and error["field"] == field
    assert_nothing_written(app)


def test_a_non_json_refresh_is_415(client):
    response = client.post("/auth/refresh", data="refresh_token=x",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


def test_expired_sessions_are_pruned_and_live_ones_kept(app, client, alice, bob):
    _login(client, alice)
    assert _sessions(app) == 3  # two registrations and a login
    ttl = timedelta(seconds=app.config["REFRESH_TOKEN_TTL_S"])
    with app.app_context():
        assert retention.prune(db.engine, app.config,
                               utcnow() + ttl - timedelta(seconds=5))["sessions"] == 0
        assert retention.prune(db.engine, app.config,
                               utcnow() + ttl + timedelta(seconds=5))["sessions"] == 3
    assert _sessions(app) == 0


def test_spent_refresh_tokens_are_kept_while_their_session_lives(app, client, alice):
    _refresh(client, _login(client, alice)["refresh_token"])
    ttl = timedelta(seconds=app.config["REFRESH_TOKEN_TTL_S"])
    with app.app_context():
        assert retention.prune(db.engine, app.config, utcnow() + ttl - timedelta(seconds=5)
                               )["spent_refresh_tokens"] == 0
        assert retention.prune(db.engine, app.config, utcnow() + ttl + timedelta(seconds=5)
                               )["spent_refresh_tokens"] == 1


def test_the_endpoint_is_in_openapi(client):
    spec = client.get("/openapi.json").get_json()
    operation = spec["paths"]["/auth/refresh"]["post"]
    assert {"200", "400", "401"} <= set(operation["responses"])
    schemas = spec["components"]["schemas"]
    assert "refresh_token" in schemas["RefreshIn"]["properties"]
    assert "refresh_token" in schemas["TokenOut"]["properties"]


def _make_old_database(url: str) -> None:
    """The schema as the previous banksim left it: no sessions table, no session_id."""
    app = create_app({"TESTING": True, "DATABASE_URL": url, "CHAOS_ENABLED": False})
    with app.app_context(), db.engine.begin() as connection:
        DeviceSession.__table__.drop(connection, checkfirst=True)
        for index in Token.__table__.indexes:
            if "session_id" in index.columns:
                connection.execute(text(f"DROP INDEX IF EXISTS {index.name}"))
        connection.execute(text("ALTER TABLE tokens DROP COLUMN IF EXISTS session_id"
                                if connection.dialect.name == "postgresql"
                                else "ALTER TABLE tokens DROP COLUMN session_id"))
    shutdown(app)


def test_a_database_from_the_previous_version_gets_sessions(app, client, alice, database_url):
    """`banksim serve` runs init_database: the table and column (with its index) appear,
    the old token keeps working, and sessions work."""
    old_token = alice.token
    shutdown(app)
    _make_old_database(database_url)
    upgraded = create_app({"TESTING": True, "DATABASE_URL": database_url,
                           "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "CHAOS_ENABLED": False})
    try:
        init_database(upgraded)
        with upgraded.app_context():
            inspector = inspect(db.engine)
            assert inspector.has_table("sessions")
            assert any(index["column_names"] == ["session_id"]
                       for index in inspector.get_indexes("tokens"))
            db.session.execute(update(Token).values(session_id=None))  # as old rows are
            db.session.commit()
        new_client = upgraded.test_client()
        assert _me(new_client, old_token).status_code == 200
        refreshed = _refresh(new_client, _login(new_client, alice)["refresh_token"])
        assert refreshed.status_code == 200
        assert new_client.post("/auth/logout", headers={  # a token with no session
            "Authorization": f"Bearer {old_token}"}).status_code == 204
        assert _refresh(new_client, refreshed.json["refresh_token"]).status_code == 200
    finally:
        shutdown(upgraded)
