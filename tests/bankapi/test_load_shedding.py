"""The bank's capacity settings, served for real: a fixed service time per request on a
fixed number of threads, and load shedding past a bound of requests in flight."""
import concurrent.futures
import os

import pytest
import requests

from loadtests.run.incident import BankProcess, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def shedding_bank(tmp_path):
    env = {**os.environ, "BANKSIM_DATABASE_URL": f"sqlite:///{tmp_path / 'bank.db'}",
           "BANKSIM_ADMIN_TOKEN": "t", "BANKSIM_SERVICE_MS": "600",
           "BANKSIM_MAX_IN_FLIGHT": "2"}
    bank = BankProcess(env, free_port(), 1, tmp_path / "server.log", threads=1)
    try:
        bank.wait_healthy()
        yield bank
    finally:
        bank.stop()


def test_past_its_bound_the_bank_sheds_at_once_with_retry_after(shedding_bank):
    url = shedding_bank.url + "/app/releases/latest"
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: requests.get(url, timeout=30), range(8)))
    shed = [a for a in answers if a.status_code == 503]
    served = [a for a in answers if a.status_code != 503]
    assert 1 <= len(served) <= 3 and len(shed) >= 5  # one thread, two in flight at most
    assert all(a.headers["Retry-After"] == "1" for a in shed)
    assert all(a.json()["error"]["code"] == "service_unavailable" for a in shed)
    assert requests.get(shedding_bank.url + "/health", timeout=5).ok  # never shed
