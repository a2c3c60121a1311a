"""Fixtures for the seeder: engines on throwaway databases, a cheap shared password hash
and a frozen clock.

SQLite files live in tmp_path; when BANKSIM_TEST_DATABASE_URL names a PostgreSQL
database, every test also runs there (the seeder drops and recreates the bank's tables).
"""
import os
from datetime import datetime

import pytest
from sqlalchemy import create_engine
from werkzeug.security import generate_password_hash

import seed
from bankapi.database.engines import make_engine
from bankapi.models import Base

PG_URL = os.environ.get("BANKSIM_TEST_DATABASE_URL")
UNTIL = datetime(2026, 11, 23)
# The real CLI hashes with scrypt; a 1,000-round PBKDF2 keeps the tests fast.
CHEAP_HASH = generate_password_hash("banksim", "pbkdf2:sha256:1000")


@pytest.fixture(params=["postgresql"] if PG_URL else ["sqlite"])  # SQLite: the first run
def make_url(request, tmp_path):
    """Return a function giving the URL of an empty database: a new SQLite file each
    call, or the PostgreSQL test database with the bank's tables dropped."""
    files = iter(range(1_000))
    if request.param == "postgresql":
        return _empty_postgres
    return lambda: f"sqlite:///{tmp_path / f'bank{next(files)}.db'}"


def _empty_postgres() -> str:
    engine = create_engine(PG_URL)
    Base.metadata.drop_all(engine)
    engine.dispose()
    return PG_URL


@pytest.fixture
def engines():
    """Create engines with the bank's own settings and dispose of them afterwards."""
    made = []

    def make(url):
        made.append(make_engine(url))
        return made[-1]
    yield make
    for engine in made:
        engine.dispose()


@pytest.fixture
def seed_into(engines):
    """Seed a database: `seed_into(url, users=..., months=..., seed=..., reset=...)`."""
    def run(url, users=30, months=3, seed_=42, reset=True, **kw):
        engine = engines(url)
        stats = seed.seed_database(engine, users=users, months=months, seed=seed_, reset=reset,
                                   password_hash=CHEAP_HASH, until=UNTIL, **kw)
        return engine, stats
    return run


@pytest.fixture
def seeded(make_url, seed_into):
    """A database with 30 users and three months of history up to UNTIL."""
    url = make_url()
    engine, stats = seed_into(url)
    return url, engine, stats


@pytest.fixture
def until():
    return UNTIL


@pytest.fixture
def cheap_hash():
    return CHEAP_HASH


@pytest.fixture
def frozen_clock(monkeypatch):
    """System accounts and the release history take their dates from the wall clock
    (bankapi.domain.ledger.ensure_system_accounts, bankapi.domain.releases.seed_history);
    freeze it."""
    from bankapi.domain import ledger, releases
    for module in (ledger, releases):
        monkeypatch.setattr(module, "utcnow", lambda: datetime(2026, 11, 23, 12, 0))
