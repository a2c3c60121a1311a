"""/metrics as a user gets it: `banksim serve` with two gunicorn workers, nothing else set.

No PROMETHEUS_MULTIPROC_DIR reaches the server (the `bank_server` fixture strips it), so
these tests see what a user sees. TMPDIR only moves the directory serve creates into
tmp_path, where the tests can watch it come and go.
"""
import os
import random
import signal
import string
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.helpers.promtext import sample

pytestmark = pytest.mark.slow

RELEASED = "4.1.3"  # in the release history every new database starts with


def _health(server, **headers) -> dict:
    """/health on a fresh connection, so either worker may answer."""
    answer = requests.get(f"{server.url}/health", timeout=5,
                          headers={"Connection": "close", **headers})
    assert answer.status_code == 200
    return answer.json()


def _metrics_dirs(tmp: os.PathLike) -> list[str]:
    return sorted(p.name for p in os.scandir(tmp) if p.name.startswith("banksim-metrics-"))


@pytest.mark.database_incidental
def test_metrics_sum_both_workers_in_a_fresh_directory_removed_on_exit(bank_server, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    server = bank_server({"TMPDIR": str(tmp)})
    server.start()
    label = {"route": "/health", "app_version": RELEASED, "platform": "web"}
    workers = []
    while len(workers) < 60 or len(set(workers)) < 2:  # until both workers have answered
        assert len(workers) < 1000, f"only worker {set(workers)} answered"
        workers.append(_health(server, **{"X-App-Version": RELEASED,
                                          "X-Platform": "web"})["worker"])
    text = requests.get(f"{server.url}/metrics", timeout=5).text
    assert sample(text, "http_requests_total", **label) == len(workers)
    [first_dir] = _metrics_dirs(tmp)

    # A worker that exits (here: restarted by gunicorn) must not take the directory with it.
    workers = sorted(set(workers))
    os.kill(workers[0], signal.SIGTERM)
    deadline = time.monotonic() + 30
    while _health(server)["worker"] in set(workers):  # until the replacement answers
        assert time.monotonic() < deadline, "gunicorn did not replace the worker"
    assert _metrics_dirs(tmp) == [first_dir]
    _health(server, **{"X-App-Version": RELEASED, "X-Platform": "web"})
    text = requests.get(f"{server.url}/metrics", timeout=5).text
    assert sample(text, "http_requests_total", **label) >= 1

    server.stop()
    assert _metrics_dirs(tmp) == []
    server.start()  # a second serve counts from zero, in a new directory
    assert sample(requests.get(f"{server.url}/metrics", timeout=5).text,
                  "http_requests_total", **label) == 0
    assert len(_metrics_dirs(tmp)) == 1


def _made_up(rng: random.Random) -> tuple[str, str]:
    version = f"{rng.randrange(100, 999)}.{rng.randrange(10, 99)}.{rng.randrange(1000, 9999)}"
    return version, "Z" + "".join(rng.choices(string.ascii_uppercase, k=7))


@pytest.mark.database_incidental
def test_labels_stay_bounded_whatever_clients_send(bank_server):
    server = bank_server()
    server.start()
    rule = server.admin("POST", "/admin/chaos/rules", json={
        "name": "fail the unknown path", "match": {"path": "/no-such-path"},
        "fault": {"type": "error", "status": 503}, "probability": 1}).json()
    rng = random.Random(11)
    sent = [_made_up(rng) for _ in range(2000)]

    def send(item) -> bool:
        """Whether the chaos rule failed this client's request to the unknown path."""
        version, method = item
        with requests.Session() as session:
            session.get(f"{server.url}/health", headers={"X-App-Version": version}, timeout=10)
            session.request(method, f"{server.url}/health", timeout=10)
            return session.get(f"{server.url}/no-such-path", timeout=10,
                               headers={"X-App-Version": version}).status_code == 503

    with ThreadPoolExecutor(8) as pool:
        faulted = sum(pool.map(send, sent))  # a worker may apply the new rule a moment late

    text = requests.get(f"{server.url}/metrics", timeout=30).text
    size = len(text.encode())
    assert size < 1_000_000, f"/metrics is {size} bytes"
    values = {value for item in sent for value in item}
    assert not [line for line in text.splitlines()
                if any(f'"{value}"' in line for value in values)][:3]
    assert sample(text, "http_requests_total", method="other") == len(sent)
    assert faulted > len(sent) / 2
    assert sample(text, "chaos_injections_total", rule=rule["id"], app_version="other") == faulted

    server.admin("POST", "/admin/releases", json={"version": "7.3.1", "platform": "android"})
    deadline = time.monotonic() + 20  # each worker re-reads the releases every few seconds
    while 'app_version="7.3.1"' not in text:
        assert time.monotonic() < deadline, "a published release never became a label"
        _health(server, **{"X-App-Version": "7.3.1"})
        text = requests.get(f"{server.url}/metrics", timeout=5).text
        time.sleep(0.2)
