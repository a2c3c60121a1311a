"""Seeding as the CLI uses it: refusing to seed twice, resetting, logging in, progress."""
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import seed
from bankapi import create_app, shutdown
from bankapi.models import Notification, User


def users_in(engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(User))


def test_refuses_to_seed_a_database_with_users(seeded, cheap_hash, until):
    _, engine, stats = seeded
    with pytest.raises(seed.AlreadySeeded, match="already has 30 users"):
        seed.seed_database(engine, users=5, months=1, password_hash=cheap_hash, until=until)
    assert users_in(engine) == stats["users"]


def test_reset_replaces_the_population(seeded, seed_into):
    url, engine, _ = seeded
    seed_into(url, users=5, months=1, reset=True)
    assert users_in(engine) == 5


def test_seeds_a_database_without_tables(make_url, seed_into):
    engine, stats = seed_into(make_url(), users=3, months=1, reset=False)
    assert users_in(engine) == stats["users"] == 3


def test_seeded_user_logs_in_and_sees_history(seeded):
    url, _, _ = seeded
    app = create_app({"DATABASE_URL": url, "CHAOS_ENABLED": False, "TESTING": True,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    try:
        client = app.test_client()
        login = client.post("/auth/login", json={"email": "user1@example.com",
                                                 "password": "banksim"})
        assert login.status_code == 200, login.json
        headers = {"Authorization": f"Bearer {login.json['access_token']}"}
        accounts = client.get("/accounts", headers=headers).json["accounts"]
        assert accounts[0]["type"] == "current" and accounts[0]["balance"] > 0
        history = client.get(f"/accounts/{accounts[0]['id']}/transactions?limit=5",
                             headers=headers)
        assert history.status_code == 200 and len(history.json["transactions"]) == 5
        assert client.post("/auth/login", json={"email": "user1@example.com",
                                                "password": "wrong"}).status_code == 401
    finally:
        shutdown(app)


def test_recent_notifications_leave_the_newest_unread(seeded):
    _, engine, stats = seeded
    with Session(engine) as session:
        unread = session.execute(select(Notification.user_id, func.count())
                                 .where(Notification.read.is_(False))
                                 .group_by(Notification.user_id)).all()
    assert stats["notifications"] > 0
    assert unread and all(count == 1 for _, count in unread)


def test_progress_callback_hears_every_stage(make_url, seed_into):
    heard = {}
    _, stats = seed_into(make_url(), users=3, months=1,
                         progress=lambda stage, done, total: heard.update({stage: (done, total)}))
    assert heard["Writing ledger"] == (stats["ledger_entries"], stats["ledger_entries"])
    assert heard["Planning history"] == (3, 3)
