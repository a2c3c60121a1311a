"""Settlement and the test clock on a real `banksim serve --workers 2`, as the docs run it:
only documented variables set, SQLite or BANKSIM_TEST_DATABASE_URL. Both workers settle;
each payment is settled once; a server killed mid-settlement loses and doubles nothing."""
import os
import signal
import subprocess
import time
import uuid

import pytest
import requests

from tests.conftest import ADMIN_TOKEN, PG_URL, _reset_postgres
from tests.helpers.loadrun import BANKSIM
from tests.helpers.workers import worker_pids
from loadtests.run.bank import free_port

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


class Served:
    """`banksim serve --workers 2` in its own process group."""

    def __init__(self, url: str, workdir, **env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environ = {k: v for k, v in os.environ.items()
                   if not k.startswith(("BANKSIM_", "PROMETHEUS_"))}
        environ.update(BANKSIM_DATABASE_URL=url, BANKSIM_ADMIN_TOKEN=ADMIN_TOKEN, **env)
        self.env = environ
        self.log = open(workdir / f"serve-{self.port}.log", "w")
        self.process = subprocess.Popen(
            [str(BANKSIM), "serve", "--port", str(self.port), "--workers", "2"], env=environ,
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/health", timeout=1).ok:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("banksim serve did not become healthy")

    def crash(self) -> None:
        """SIGKILL the server and its workers at once: no request or settlement finishes."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.log.close()

    def banksim(self, *args: str) -> subprocess.CompletedProcess:
        env = {**self.env, "BANKSIM_URL": self.url}
        return subprocess.run([str(BANKSIM), *args], env=env, capture_output=True, text=True,
                              timeout=60)


@pytest.fixture
def database(make_url):
    return make_url()


@pytest.fixture
def make_url(tmp_path):
    def make():
        if PG_URL:
            _reset_postgres(PG_URL)
            return PG_URL
        return f"sqlite:///{tmp_path / 'bank.db'}"
    return make


@pytest.fixture
def serve(tmp_path):
    started = []

    def start(url, **env):
        started.append(Served(url, tmp_path, **env))
        return started[-1]
    yield start
    for served in started:
        served.stop()


def customer(url: str, balance: int) -> dict:
    email = f"settle-{uuid.uuid4().hex[:8]}@example.com"
    body = requests.post(f"{url}/auth/register", timeout=10, json={
        "email": email, "password": "correct horse", "name": "Sam"}).json()
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    account = requests.get(f"{url}/accounts", headers=headers, timeout=10).json()["accounts"][0]
    requests.post(f"{url}/accounts/{account['id']}/topup", json={"amount": balance},
                  headers={**headers, "Idempotency-Key": uuid.uuid4().hex}, timeout=10)
    return {"headers": headers, "account_id": account["id"]}


def pay(url: str, who: dict, amount: int = 1_00, reference: str = "", timeout: float = 10):
    response = requests.post(f"{url}/payments", timeout=timeout, json={
        "account_id": who["account_id"], "amount": amount, "merchant": "Tesco",
        "category": "groceries", "reference": reference},
        headers={**who["headers"], "Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 201, response.text
    return response.json()


def statuses(url: str, who: dict, ids: list[str]) -> list[str]:
    return [requests.get(f"{url}/payments/{pid}", headers=who["headers"], timeout=10)
            .json()["status"] for pid in ids]


def wait_until_settled(url: str, who: dict, ids: list[str], timeout_s: float = 40) -> list:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = statuses(url, who, ids)
        if all(status == "settled" for status in now):
            return now
        time.sleep(0.3)
    return statuses(url, who, ids)


def settled_notifications(url: str, who: dict) -> int:
    body = requests.get(f"{url}/notifications", params={"limit": 100}, headers=who["headers"],
                        timeout=10).json()
    return sum(n["type"] == "payment_settled" for n in body["notifications"])


@pytest.mark.slow
def test_two_workers_settle_every_payment_exactly_once(serve, database):
    bank = serve(database, BANKSIM_SETTLEMENT_DELAY_S="0.5")
    worker_pids(bank.url, 2)  # both workers answer, and so both run a settler
    who = customer(bank.url, 100_00)
    ids = [pay(bank.url, who)["id"] for _ in range(30)]
    assert wait_until_settled(bank.url, who, ids) == ["settled"] * 30
    balance = requests.get(f"{bank.url}/accounts/{who['account_id']}/balance",
                           headers=who["headers"], timeout=5).json()
    assert (balance["balance"], balance["available"]) == (70_00, 70_00)
    assert settled_notifications(bank.url, who) == 30
    audit = bank.banksim("audit")
    assert audit.returncode == 0, audit.stdout + audit.stderr


@pytest.mark.slow
def test_the_clock_cli_moves_settlement_and_every_worker_sees_it(serve, database):
    bank = serve(database, BANKSIM_TEST_CLOCK="1")  # the default 5 s delay
    assert requests.get(f"{bank.url}/health", timeout=5).json()["test_clock"] is True
    who = customer(bank.url, 100_00)
    payment = pay(bank.url, who, reference="magic:slow")  # 50 s on the bank's clock
    moved = bank.banksim("clock", "advance", "1m")
    assert moved.returncode == 0, moved.stderr
    assert "0 d 0 h 1 min" in moved.stdout
    offsets = {requests.get(f"{bank.url}/admin/clock", headers=ADMIN, timeout=5)
               .json()["offset_s"] for _ in range(10)}
    assert offsets == {60}
    assert wait_until_settled(bank.url, who, [payment["id"]], timeout_s=15) == ["settled"]
    status = bank.banksim("clock", "status")
    assert status.returncode == 0 and "ahead of real time" in status.stdout
    for bad in ("soon", "0"):  # not a duration (the CLI says so); no move (the bank does)
        refused = bank.banksim("clock", "advance", bad)
        assert refused.returncode != 0, bad
    assert {requests.get(f"{bank.url}/admin/clock", headers=ADMIN, timeout=5)
            .json()["offset_s"] for _ in range(4)} == {60}


@pytest.mark.slow
def test_the_clock_is_404_without_the_variable(serve, database):
    bank = serve(database)
    assert requests.get(f"{bank.url}/admin/clock", headers=ADMIN, timeout=5).status_code == 404
    refused = bank.banksim("clock", "advance", "3d")
    assert refused.returncode == 1 and "BANKSIM_TEST_CLOCK" in refused.stderr


@pytest.mark.slow
def test_magic_timeout_is_a_real_slow_answer(serve, database):
    bank = serve(database)
    who = customer(bank.url, 100_00)
    with pytest.raises(requests.ReadTimeout):
        pay(bank.url, who, reference="magic:timeout", timeout=2)
    assert pay(bank.url, who, timeout=2)["status"] == "pending"  # the others are served


@pytest.mark.slow
def test_a_server_killed_mid_settlement_loses_and_doubles_nothing(serve, database):
    bank = serve(database, BANKSIM_SETTLEMENT_DELAY_S="1")
    who = customer(bank.url, 100_00)
    ids = [pay(bank.url, who)["id"] for _ in range(40)]
    deadline = time.monotonic() + 20
    while "settled" not in statuses(bank.url, who, ids[:5]) and time.monotonic() < deadline:
        time.sleep(0.05)
    bank.crash()  # settlement is under way: some settled, others not yet
    again = serve(database, BANKSIM_SETTLEMENT_DELAY_S="1")
    assert wait_until_settled(again.url, who, ids) == ["settled"] * 40
    assert settled_notifications(again.url, who) == 40
    audit = again.banksim("audit")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    balance = requests.get(f"{again.url}/accounts/{who['account_id']}/balance",
                           headers=who["headers"], timeout=5).json()
    assert (balance["balance"], balance["available"]) == (60_00, 60_00)
