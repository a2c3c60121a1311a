"""The scale-out topology of docker-compose.yml, natively on loopback: the bank under
gunicorn with three workers (on PostgreSQL when BANKSIM_TEST_DATABASE_URL is set), a
Locust master and two Locust workers.

Checks that both Locust workers contributed, that /metrics counts every request Locust
made although three processes served them, and that a chaos rule created through the
admin API is applied by every gunicorn worker one second after the admin's answer.
"""
import csv
import os
import re
import subprocess
import sys
import time

import pytest
import requests

from tests.helpers.loadrun import (ADMIN_TOKEN, BANKSIM, LOCUSTFILE, SEEDED_USERS, Bank,
                                   locust_command)

from loadtests.run.bank import BankProcess, free_port
from tests.helpers.promtext import sample
from tests.helpers.workers import worker_pids

WORKERS = 3
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
UNCOUNTED = re.compile(r'route="(/metrics|/health|/admin[^"]*)"')


@pytest.fixture
def three_worker_bank(database_url, tmp_path, processes):
    env = {**{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
           "BANKSIM_DATABASE_URL": database_url,
           "BANKSIM_ADMIN_TOKEN": ADMIN_TOKEN, "BANKSIM_PASSWORD_HASH": "pbkdf2:sha256:1000"}
    subprocess.run([str(BANKSIM), "seed", "--users", str(SEEDED_USERS), "--months", "1"],
                   env=env, cwd=tmp_path, capture_output=True, timeout=120, check=True)
    server = BankProcess(env, free_port(), WORKERS, tmp_path / "serve.log", threads=4)
    processes.append(server.process)
    server.wait_healthy(30)
    return Bank(server.url)


def health(bank: Bank) -> dict:
    """/health on a fresh connection, so the kernel may hand it to any worker."""
    return requests.get(f"{bank.url}/health", headers={"Connection": "close"}, timeout=5).json()


def locust_requests(stats_csv) -> int:
    """Requests Locust sent to the bank: every row but the journeys and the total."""
    with open(stats_csv) as stats:
        return sum(int(row["Request Count"]) for row in csv.DictReader(stats)
                   if row["Type"] not in ("JOURNEY", "") and row["Name"] != "Aggregated")


def served_requests(metrics_text: str) -> int:
    return sum(int(float(line.rsplit(" ", 1)[1])) for line in metrics_text.splitlines()
               if line.startswith("http_requests_total{") and not UNCOUNTED.search(line))


@pytest.mark.database_incidental
@pytest.mark.slow
def test_three_gunicorn_workers_and_distributed_locust(three_worker_bank, tmp_path, processes):
    bank = three_worker_bank
    pids = worker_pids(bank.url, WORKERS)
    master_port, master_log = free_port(), tmp_path / "master.log"
    with open(master_log, "w") as log:
        master = subprocess.Popen(locust_command(
            bank, "--headless", "--master", "--master-bind-host", "127.0.0.1",
            "--master-bind-port", str(master_port), "--expect-workers", "2",
            "-u", "8", "-r", "8", "-t", "12s", "--csv", str(tmp_path / "run"),
            # users finish the journey under way: no request is served but never recorded
            "--stop-timeout", "10"),
            stdout=log, stderr=subprocess.STDOUT)
    workers = [subprocess.Popen([sys.executable, "-m", "locust", "-f", str(LOCUSTFILE),
                                 "--worker", "--master-host", "127.0.0.1",
                                 "--master-port", str(master_port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for _ in range(2)]
    processes.extend([master, *workers])

    # Under load, a rule aimed at a version nobody runs (so the load stays green).
    time.sleep(4)
    created = requests.post(f"{bank.url}/admin/chaos/rules", headers=ADMIN, timeout=5, json={
        "name": "topology probe", "match": {"path": "/app/releases/latest",
                                            "app_version": "==9.9.9"},
        "fault": {"type": "error", "status": 503}})
    acknowledged = time.monotonic()
    assert created.status_code == 201, created.text
    revision = requests.get(f"{bank.url}/admin/chaos", headers=ADMIN, timeout=5).json()["revision"]

    # Every answer sent a second or more after the admin's 201 shows the new rules,
    # whichever worker gives it; poll until each of the three has answered.
    late = {}
    while set(late) != pids and time.monotonic() - acknowledged < 30:
        sent_after = time.monotonic() - acknowledged
        answer = health(bank)
        if sent_after >= 1.0:
            late.setdefault(answer["worker"], []).append(answer["chaos_revision"])
    assert set(late) == pids, f"workers that answered after 1 s: {sorted(late)} of {pids}"
    assert all(r >= revision for revisions in late.values() for r in revisions), late
    probe = requests.get(f"{bank.url}/app/releases/latest?platform=ios", timeout=5,
                         headers={"X-App-Version": "9.9.9"})
    assert probe.status_code == 503

    assert [p.wait(timeout=90) for p in (master, *workers)] == [0, 0, 0], \
        master_log.read_text()[-5000:]
    by_worker = re.search(r"journeys by worker: (.*)", master_log.read_text()).group(1)
    counts = [int(count) for count in re.findall(r"=(\d+)", by_worker)]
    assert len(counts) == 2 and min(counts) > 0, by_worker

    sent = locust_requests(tmp_path / "run_stats.csv")
    metrics = requests.get(f"{bank.url}/metrics", timeout=5).text
    assert sent > 100
    assert served_requests(metrics) == sent
    # 9.9.9 was never published, so its injections are labelled "other" (docs/reference.md).
    assert sample(metrics, "chaos_injections_total", rule=created.json()["id"],
                  app_version="other") >= 1
    assert 'app_version="9.9.9"' not in metrics
