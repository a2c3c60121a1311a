"""Retention: expired tokens, forgotten login failures and old idempotency keys are pruned
in small batches at most once per interval per process; live rows are kept."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from bankapi.domain import tokens
from bankapi.domain import retention
from bankapi.clock import utcnow
from bankapi.config import Config
from bankapi.database.db import db
from bankapi.models import IdempotencyKey, LoginThrottle, Token


def _prune(app, now):
    with app.app_context():
        return retention.prune(db.engine, app.config, now)


def _count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _login(client, email, password="wrong password"):
    return client.post("/auth/login", json={"email": email, "password": password})


def test_tokens_are_kept_until_they_expire(app, alice, bob):
    ttl = timedelta(seconds=app.config["TOKEN_TTL_S"])
    now = utcnow()
    assert _prune(app, now + ttl - timedelta(seconds=5))["tokens"] == 0
    assert _count(app, Token) == 2
    assert _prune(app, now + ttl + timedelta(seconds=5))["tokens"] == 2
    assert _count(app, Token) == 0


def test_login_failures_are_kept_until_the_window_after_the_lockout(app, client, alice):
    window = timedelta(seconds=app.config["LOGIN_WINDOW_S"])
    lockout = timedelta(seconds=app.config["LOGIN_LOCKOUT_S"])
    now = utcnow()
    assert _login(client, "stranger@example.com").status_code == 401  # one failure
    for _ in range(5):
        _login(client, alice.email)  # locked for 30 s
    assert _prune(app, now + window - timedelta(seconds=5))["login_throttle"] == 0
    assert _prune(app, now + window + timedelta(seconds=5))["login_throttle"] == 1
    assert _count(app, LoginThrottle, LoginThrottle.email == alice.email) == 1  # still counts
    assert _prune(app, now + window + lockout + timedelta(seconds=5))["login_throttle"] == 1
    assert _count(app, LoginThrottle) == 0


def test_idempotency_keys_are_kept_for_their_ttl_then_a_retry_does_the_work_again(app, alice):
    ttl = timedelta(seconds=app.config["IDEMPOTENCY_TTL_S"])
    assert ttl == timedelta(hours=24)
    first = alice.post(f"/accounts/{alice.account_id}/topup", json={"amount": 5_00}, key="k")
    now = utcnow()
    assert _prune(app, now + ttl - timedelta(seconds=5))["idempotency_keys"] == 0
    replay = alice.post(f"/accounts/{alice.account_id}/topup", json={"amount": 5_00}, key="k")
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert _prune(app, now + ttl + timedelta(seconds=5))["idempotency_keys"] == 2
    retry = alice.post(f"/accounts/{alice.account_id}/topup", json={"amount": 5_00}, key="k")
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers
    assert retry.json["transaction"]["id"] != first.json["transaction"]["id"]
    assert alice.balance() == 100_00 + 10_00  # the documented trade: done twice


def test_idempotency_ttl_is_configurable():
    assert Config({"BANKSIM_IDEMPOTENCY_TTL_S": "600"}).IDEMPOTENCY_TTL_S == 600
    assert Config({}).IDEMPOTENCY_TTL_S == 86_400


def test_pruning_deletes_in_bounded_batches(app, make_customer, monkeypatch):
    for _ in range(5):
        make_customer()
    monkeypatch.setattr(retention, "PRUNE_BATCH", 2)
    monkeypatch.setattr(retention, "PRUNE_MAX_BATCHES", 2)
    later = utcnow() + timedelta(days=1)
    assert _prune(app, later)["tokens"] == 4  # two batches of two, then it stops
    assert _prune(app, later)["tokens"] == 1


def test_the_pruner_runs_at_most_once_per_interval():
    now = [0.0]
    pruner = retention.Pruner(interval_s=60, clock=lambda: now[0])
    assert not pruner.due()  # a fresh process serves first
    now[0] = 60
    assert [pruner.due(), pruner.due()] == [True, False]
    now[0] = 119
    assert not pruner.due()
    now[0] = 120
    assert pruner.due()
    assert not retention.Pruner(interval_s=0).due()  # 0 turns pruning off


@pytest.fixture
def expired_token(app, alice):
    with app.app_context():
        db.session.execute(update(Token).where(Token.token_hash == tokens.digest(alice.token))
                           .values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    return alice


def test_a_response_triggers_pruning_after_it_is_sent_once_due(app, client, expired_token):
    pruner = app.state.pruner
    assert client.get("/health", buffered=True).status_code == 200
    assert _count(app, Token) == 1  # not due yet: nothing pruned
    pruner.clock = lambda: pruner._next  # the interval is up
    assert client.get("/health", buffered=True).status_code == 200  # closing runs the prune
    assert _count(app, Token) == 0
    assert _count(app, IdempotencyKey) == 1  # alice's top-up key is a day from expiry
