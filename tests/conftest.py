"""Shared fixtures: an app on a fresh database (SQLite by default, PostgreSQL when
BANKSIM_TEST_DATABASE_URL is set), a test client, and signed-in users."""
import itertools
import os
import threading
import uuid

import pytest
from sqlalchemy import create_engine, func, inspect, select, text
from werkzeug.serving import make_server

from bankapi import create_app, init_database, shutdown
from bankapi.database.db import db
from bankapi.models import Base
from chaos.models import Base as ChaosBase


def _database_of_this_worker(url: str | None) -> str | None:
    """Under pytest-xdist (`-n`), each worker gets a PostgreSQL database of its own,
    `<name>_<worker id>`, created on first use: every test empties the tables it uses, and
    two workers on one database would empty them under each other. Set before any test
    module reads BANKSIM_TEST_DATABASE_URL (this is the first conftest pytest imports)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    from sqlalchemy.engine import make_url
    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                            {"name": name}).first() is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


if os.environ.get("BANKSIM_TEST_DATABASE_URL"):
    os.environ["BANKSIM_TEST_DATABASE_URL"] = _database_of_this_worker(
        os.environ["BANKSIM_TEST_DATABASE_URL"])
PG_URL = os.environ.get("BANKSIM_TEST_DATABASE_URL")
ADMIN_TOKEN = "test-admin-token"
# The fixtures through which a test reaches the database under test. With
# BANKSIM_TEST_DATABASE_URL set the suite runs a second time, on PostgreSQL; a test that
# uses none of them does exactly what it did in the SQLite run, so it is skipped there.
DATABASE_FIXTURES = {"database_url", "chaos_db_url", "served_bank", "make_url"}
_emails = itertools.count(1)


def _reset_postgres(url: str) -> None:
    """The bank's tables, empty, and no other table: chaos's rules, kill switch and seed,
    an earlier run's marker and the tiny chaos app's notes all start afresh."""
    engine = create_engine(url)
    with engine.begin() as conn:
        ChaosBase.metadata.drop_all(conn)
        bank = {table.name for table in Base.metadata.sorted_tables}
        for name in set(inspect(conn).get_table_names()) - bank:
            conn.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
        Base.metadata.create_all(conn)
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} CASCADE"))
    engine.dispose()


def pytest_collection_modifyitems(config, items):
    if not PG_URL:
        return
    once = pytest.mark.skip(reason="does not reach the database: runs once, in the SQLite run")
    incidental = pytest.mark.skip(reason="the database is only where the bank runs: runs "
                                         "once, in the SQLite run")
    for item in items:
        if not DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(once)
        elif item.get_closest_marker("database_incidental"):
            item.add_marker(incidental)


@pytest.fixture
def database_url(tmp_path):
    if PG_URL:
        _reset_postgres(PG_URL)
        return PG_URL
    return f"sqlite:///{tmp_path / 'bank.db'}"


@pytest.fixture
def app(database_url, request):
    """The bank in-process; `@pytest.mark.parametrize("app", [{...}], indirect=True)` adds
    settings (e.g. {"ACCESS_LOG": True}: its lines go to stderr, which capsys reads)."""
    app = create_app({"TESTING": True, "DATABASE_URL": database_url,
                      "ADMIN_TOKEN": ADMIN_TOKEN, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                      "CHAOS_ENABLED": True, **getattr(request, "param", {})})
    init_database(app)
    yield app
    shutdown(app)


@pytest.fixture
def live_server(app):
    """Whichever `app` is in scope under werkzeug's threaded server on 127.0.0.1."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def admin_headers():
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def rule(client, admin_headers):
    """Create a chaos rule through the admin API: `rule(fault, match=..., ...)`."""
    def create(fault, **fields):
        response = client.post("/admin/chaos/rules", json={"fault": fault, **fields},
                               headers=admin_headers)
        assert response.status_code == 201, response.json
        return response.json
    return create


class Customer:
    """A registered user seen through the API: token, headers and current account."""

    def __init__(self, client, email, body):
        self.client, self.email = client, email
        self.id, self.token = body["user"]["id"], body["access_token"]
        self.headers = {"Authorization": f"Bearer {self.token}"}
        self.account_id = client.get("/accounts", headers=self.headers).json["accounts"][0]["id"]

    def post(self, path, json=None, key=None, **kw):
        headers = dict(self.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.client.post(path, json=json, headers=headers, **kw)

    def get(self, path, **kw):
        return self.client.get(path, headers=self.headers, **kw)

    def topup(self, amount, account_id=None):
        response = self.post(f"/accounts/{account_id or self.account_id}/topup",
                             json={"amount": amount}, key=uuid.uuid4().hex)
        assert response.status_code == 201, response.json
        return response

    def balance(self, account_id=None):
        return self.get(f"/accounts/{account_id or self.account_id}/balance").json["balance"]

    def available(self, account_id=None):
        """The balance less pending card payments' holds: what the account may spend."""
        return self.get(f"/accounts/{account_id or self.account_id}/balance").json["available"]


@pytest.fixture
def make_customer(client):
    def make(balance=0, name="Ada Lovelace"):
        email = f"customer{next(_emails)}@example.com"
        response = client.post("/auth/register",
                               json={"email": email, "password": "correct horse", "name": name})
        assert response.status_code == 201, response.json
        customer = Customer(client, email, response.json)
        if balance:
            customer.topup(balance)
        return customer
    return make


@pytest.fixture
def alice(make_customer):
    return make_customer(balance=100_00, name="Alice")


@pytest.fixture
def bob(make_customer):
    return make_customer(balance=50_00, name="Bob")


def table_counts(app):
    with app.app_context():
        return {table.name: db.session.scalar(select(func.count()).select_from(table))
                for table in Base.metadata.sorted_tables}


@pytest.fixture
def assert_nothing_written(app, alice, bob):
    """Snapshot row counts of every table after the fixtures ran; compare on call."""
    before = table_counts(app)
    return lambda _app=None: (table_counts(app) == before) or pytest.fail("rows were written")


@pytest.fixture(scope="module")
def served_bank(served):
    return served.url


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`banksim serve` (2 workers) as the README runs it: only the documented
    BANKSIM_DATABASE_URL and BANKSIM_ADMIN_TOKEN set; SQLite or BANKSIM_TEST_DATABASE_URL.
    Its `url`, and its `log_path` (what it wrote on stdout and stderr)."""
    from loadtests.run.bank import BankProcess, free_port
    workdir = tmp_path_factory.mktemp("served")
    url = PG_URL or f"sqlite:///{workdir / 'bank.db'}"
    if PG_URL:
        _reset_postgres(PG_URL)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BANKSIM_", "PROMETHEUS_"))}
    env.update(BANKSIM_DATABASE_URL=url, BANKSIM_ADMIN_TOKEN=ADMIN_TOKEN)
    bank = BankProcess(env, free_port(), 2, workdir / "serve.log")
    try:
        bank.wait_healthy()
        yield bank
    finally:
        bank.stop()
