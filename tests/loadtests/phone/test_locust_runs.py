"""Locust for real, as subprocesses, against a bank this suite started on 127.0.0.1."""
import csv
import json
import os
import re
import subprocess
import sys
from collections import Counter

import pytest
import requests

from tests.helpers.loadrun import ADMIN_TOKEN, BANKSIM, LOCUSTFILE, SEEDED_USERS, locust_command

from loadtests.run.bank import free_port
from loadtests.phone.journal import JOURNEY_KEYS, TRANSFER_KEYS
from loadtests.phone.journeys import JOURNEY_NAMES

pytestmark = pytest.mark.slow
ALL_JOURNEYS = {"login", *JOURNEY_NAMES}


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def assert_transfers_acked_or_interrupted(intents, users=10):
    """Chaos off: every intent is acknowledged, but for a 422 insufficient_funds (a valid
    answer) and those of users stopped mid-request at the end of the run (no answer,
    outcome unknown: acked false, status null)."""
    unacked = [i for i in intents if not i["acked"]]
    assert all(i["status"] in (None, 422) and i["transfer_id"] is None for i in unacked), unacked
    assert sum(i["status"] is None for i in unacked) <= users
    assert all(i["status"] == 201 and i["transfer_id"].startswith("tfr_")
               for i in intents if i["acked"])


def ledger_transfers(url):
    """Every transfer the bank holds, through the admin API."""
    found, cursor = {}, None
    while True:
        params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        page = requests.get(f"{url}/admin/transfers", params=params, timeout=10,
                            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).json()
        found.update({t["id"]: t for t in page["transfers"]})
        if not (cursor := page["next_cursor"]):
            return found


def test_local_run_records_every_journey_ok_and_every_transfer_lands(bank, tmp_path):
    out = {name: tmp_path / name for name in ("journeys.jsonl", "transfers.jsonl", "phases.json")}
    run = subprocess.run(locust_command(
        bank, "--headless", "-u", "10", "-r", "10", "-t", "12s", "--csv", str(tmp_path / "run"),
        "--journeys-out", str(out["journeys.jsonl"]), "--transfers-out",
        str(out["transfers.jsonl"]), "--phases-out", str(out["phases.json"])),
        capture_output=True, text=True, timeout=90)
    assert run.returncode == 0, run.stderr[-5000:]

    events = read_jsonl(out["journeys.jsonl"])
    assert all(tuple(e) == JOURNEY_KEYS for e in events)
    assert {e["journey"] for e in events} == ALL_JOURNEYS
    failed = [e for e in events if not e["ok"]]
    assert not failed, failed[:5]
    assert {e["phase"] for e in events} == {"baseline"}
    assert len({e["user"] for e in events}) == 10  # 10 users over 12 customers: none shared
    assert all(e["requests"] >= 1 and e["retries"] == 0 for e in events)

    intents = read_jsonl(out["transfers.jsonl"])
    assert intents and all(tuple(i) == TRANSFER_KEYS for i in intents)
    assert_transfers_acked_or_interrupted(intents)
    ledger = ledger_transfers(bank.url)
    for intent in (i for i in intents if i["acked"]):
        transfer = ledger[intent["transfer_id"]]
        assert (transfer["reference"], transfer["amount"], transfer["from_account_id"]) == \
            (intent["intent"], intent["amount"], intent["from_account_id"])

    assert json.loads(out["phases.json"].read_text())[0]["name"] == "baseline"
    with open(tmp_path / "run_stats.csv") as stats:
        journeys = [row for row in csv.DictReader(stats) if row["Type"] == "JOURNEY"]
    assert {row["Name"].split()[0] for row in journeys} == ALL_JOURNEYS
    assert all(row["Failure Count"] == "0" for row in journeys)


def test_distributed_run_brings_events_from_both_workers_to_the_master(bank, tmp_path,
                                                                       processes):
    port = free_port()
    journeys_out, transfers_out = tmp_path / "journeys.jsonl", tmp_path / "transfers.jsonl"
    master_log = tmp_path / "master.log"
    with open(master_log, "w") as log:
        processes.append(subprocess.Popen(locust_command(
            bank, "--headless", "--master", "--master-bind-host", "127.0.0.1",
            "--master-bind-port", str(port), "--expect-workers", "2", "-u", "10", "-r", "10",
            "-t", "12s", "--scenario", "bad-release", "--admin-token", ADMIN_TOKEN,
            "--adoption", "0.9", "--journeys-out", str(journeys_out),
            "--transfers-out", str(transfers_out), "--phases-out", str(tmp_path / "phases.json")),
            stdout=log, stderr=subprocess.STDOUT))
    for _ in range(2):
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker",
             "--master-host", "127.0.0.1", "--master-port", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    assert [p.wait(timeout=90) for p in processes] == [0, 0, 0], master_log.read_text()[-5000:]

    by_worker = re.search(r"journeys by worker: (.*)", master_log.read_text()).group(1)
    counts = [int(count) for count in re.findall(r"=(\d+)", by_worker)]
    assert len(counts) == 2 and min(counts) > 0, by_worker

    events = read_jsonl(journeys_out)
    assert {e["journey"] for e in events} == ALL_JOURNEYS
    assert all(e["ok"] for e in events)
    assert len({e["user"] for e in events}) == 10  # one run-wide user counter
    phases = json.loads((tmp_path / "phases.json").read_text())
    assert [p["name"] for p in phases] == ["baseline", "incident", "recovery"]
    assert (phases[1]["start_s"], phases[2]["start_s"]) == (3.0, 7.2)
    seen = Counter((e["app_version"], e["phase"]) for e in events)
    assert {phase for version, phase in seen if version == "4.2.0"} <= {"incident", "recovery"}
    assert {phase for version, phase in seen if version == "4.2.1"} == {"recovery"}
    assert seen[("4.2.0", "incident")] > 0
    intents = read_jsonl(transfers_out)
    assert intents
    assert_transfers_acked_or_interrupted(intents)


@pytest.mark.slow
def test_banksim_loadtest_runs_the_packaged_locustfile(bank, tmp_path):
    """`banksim loadtest ARGS` is locust with banksim's locustfile, aimed at BANKSIM_URL."""
    env = {**os.environ, "BANKSIM_URL": bank.url}
    result = subprocess.run(
        [str(BANKSIM), "loadtest", "--headless", "-u", "3", "-r", "3", "-t", "4s",
         "--seeded-users", str(SEEDED_USERS), "--think-min", "0.1", "--think-max", "0.3",
         "--csv", str(tmp_path / "run"), "--only-summary"],
        env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    stats = (tmp_path / "run_stats.csv").read_text()
    assert "JOURNEY" in stats and "/accounts" in stats
