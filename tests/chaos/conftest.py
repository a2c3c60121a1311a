"""Fixtures for the chaos tests: a store on a fresh database (SQLite in tmp_path, or
BANKSIM_TEST_DATABASE_URL with chaos's tables recreated), a tiny app wrapped by the
middleware, and servers on real sockets (werkzeug in a thread, gunicorn subprocesses)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine

from tests.helpers.faults import free_port
from chaos.models import Base
from chaos.store import ChaosStore
from tests.helpers.chaos_app import create_app

PG_URL = os.environ.get("BANKSIM_TEST_DATABASE_URL")
ROOT = Path(__file__).parent.parent.parent


@pytest.fixture
def chaos_db_url(tmp_path):
    if PG_URL:
        engine = create_engine(PG_URL)
        Base.metadata.drop_all(engine)
        engine.dispose()
        return PG_URL
    return f"sqlite:///{tmp_path / 'chaos.db'}"


@pytest.fixture
def make_store(chaos_db_url):
    """Stores on the test database, as separate processes would have (own engine each)."""
    made = []

    def make(seed=42, **options):
        store = ChaosStore(create_engine(chaos_db_url), seed=seed, **options)
        store.create_all()
        made.append(store)
        return store
    yield make
    for store in made:
        store.close()
        store.engine.dispose()


@pytest.fixture
def store(make_store):
    return make_store()


@pytest.fixture
def app(store):
    return create_app(store)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def engine(store):
    """A decider reading `store`, as one server process has."""
    from chaos.decisions import Decider
    return Decider(store)


@pytest.fixture
def add_rule(store):
    def add(fault, **fields):
        return store.add_rule({"fault": fault, **fields})
    return add


class Gunicorn:
    """A gunicorn subprocess serving chaos_testapp; its log is kept for inspection."""

    def __init__(self, url: str, process: subprocess.Popen, log_path: Path):
        self.url, self.process, self.log_path = url, process, log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def start_gunicorn(store, chaos_db_url, tmp_path):
    """Start gunicorn serving chaos_testapp on the test database (tables made by `store`)."""
    started = []

    def start(worker_class="gthread", workers=1):
        port = free_port()
        log_path = tmp_path / f"gunicorn-{port}.log"
        env = {**os.environ, "CHAOS_TEST_DATABASE_URL": chaos_db_url,
               "PYTHONPATH": str(ROOT)}
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--worker-class", worker_class,
                 "--threads", "4", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
                 "--timeout", "30", "--graceful-timeout", "1", "--log-level", "info",
                 "tests.helpers.chaos_app:create_app()"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        server = Gunicorn(f"http://127.0.0.1:{port}", process, log_path)
        started.append(server)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert process.poll() is None, server.log()
            try:
                if requests.get(server.url + "/health", timeout=2).ok:
                    return server
            except requests.RequestException:  # not listening yet, or the worker still booting
                time.sleep(0.1)
        raise AssertionError(f"gunicorn did not start:\n{server.log()}")
    yield start
    for server in started:
        server.process.send_signal(signal.SIGQUIT)  # gunicorn's quick shutdown
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)


BANK_ADMIN_TOKEN = "chaos-admin-token"


@pytest.fixture
def bank_serve(database_url, tmp_path):
    """`banksim serve` (python -m banksim serve, 2 workers, default threads) on a fresh bank
    database, with only the variables the README gives a user; stopped at teardown."""
    from loadtests.run.bank import BankProcess
    started = []

    def start():
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("BANKSIM_") and k != "PROMETHEUS_MULTIPROC_DIR"}
        env.update(BANKSIM_DATABASE_URL=database_url, BANKSIM_ADMIN_TOKEN=BANK_ADMIN_TOKEN)
        bank = BankProcess(env, free_port(), 2, tmp_path / f"serve-{len(started)}.log")
        started.append(bank)
        bank.wait_healthy(60)
        bank.admin_headers = {"Authorization": f"Bearer {BANK_ADMIN_TOKEN}"}
        return bank
    yield start
    for bank in started:
        bank.stop()


@pytest.fixture
def make_request():
    """A RequestInfo with sensible defaults, for driving the decider directly."""
    from chaos.decisions import RequestInfo

    def make(**fields):
        defaults = dict(method="GET", path="/hello", app_version="4.2.0", platform="ios",
                        user_id="user_1", device_id=None, request_id=None, now=time.time())
        return RequestInfo(**{**defaults, **fields})
    return make

