"""What a bandwidth-shaped answer costs the worker, against the same answer unshaped.

`banksim serve` with one worker (8 threads) on a fresh SQLite bank; GET /openapi.json
(about 120 kB) from 4 clients, in interleaved rounds: the answer as the app gives it, then
the same answer under a `bandwidth` rule that dribbles it over about two seconds (eight
chunks, seven waits between them). The worker's CPU seconds (from /proc) per answer, and
their ratio: a shaped answer waits on a condition between chunks, so it should cost about
what an unshaped one does, however long it takes. 4 clients: the worker holds at most 4
slow answers at once (chaos's `max_held`); more would be answered unshaped.

    python -m benchmarks.shaping_cost            # about a minute
    python -m benchmarks.shaping_cost --rounds 2 --answers 16
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from benchmarks.proc import cpu_seconds
from loadtests.run.incident import free_port

TOKEN = "shaping-bench"
RATE = 60_000  # bytes/s: 120 kB in about two seconds, in 15 kB chunks
CLIENTS = 4


def serve(database: Path, port: int, log) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANKSIM_")}
    env.update(BANKSIM_DATABASE_URL=f"sqlite:///{database}", BANKSIM_ADMIN_TOKEN=TOKEN)
    return subprocess.Popen([sys.executable, "-m", "banksim", "serve", "--port", str(port),
                             "--workers", "1", "--threads", "8"], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def wait_healthy(url: str) -> int:
    """The worker's pid, once the bank answers."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            return requests.get(url + "/health", timeout=2).json()["worker"]
        except (requests.RequestException, ValueError, KeyError):
            time.sleep(0.2)
    raise SystemExit("the bank did not start")


def round_cpu(url: str, worker: int, answers: int) -> tuple[float, float, int]:
    """(worker CPU seconds per answer, wall seconds per answer, answers shaped)."""
    def fetch(_):
        answer = requests.get(url + "/openapi.json", timeout=60)
        assert answer.status_code == 200 and len(answer.content) > 100_000
        return "X-Chaos-Rule" in answer.headers
    cpu, began = cpu_seconds(worker), time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        shaped = sum(pool.map(fetch, range(answers)))
    return ((cpu_seconds(worker) - cpu) / answers, (time.monotonic() - began) / answers,
            shaped)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--answers", type=int, default=24, help="answers per round")
    options = parser.parse_args(argv)
    port = free_port()
    url, admin = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {TOKEN}"}
    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "serve.log", "wb") as log:
        bank = serve(Path(tmp) / "bank.db", port, log)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, lambda *_: sys.exit(1))  # the finally below stops the bank
        try:
            worker = wait_healthy(url)
            rule = requests.post(url + "/admin/chaos/rules", headers=admin, timeout=10, json={
                "fault": {"type": "bandwidth", "bytes_per_s": RATE},
                "match": {"path": "/openapi.json"}, "enabled": False}).json()["id"]
            round_cpu(url, worker, CLIENTS)  # warm up: the document is built once
            plain, shaped = [], []
            for _ in range(options.rounds):
                for enabled, rows in ((False, plain), (True, shaped)):
                    requests.patch(f"{url}/admin/chaos/rules/{rule}", headers=admin,
                                   json={"enabled": enabled}, timeout=10)
                    time.sleep(1.2)  # every worker applies a change within a second
                    rows.append(round_cpu(url, worker, options.answers))
        finally:
            os.killpg(bank.pid, signal.SIGTERM)
            bank.wait(30)
    report(plain, shaped)


def report(plain: list, shaped: list) -> None:
    for name, rows in (("unshaped", plain), ("bandwidth", shaped)):
        cpu_ms = statistics.median(r[0] for r in rows) * 1000
        wall_s = statistics.median(r[1] for r in rows)
        print(f"{name:>9}: worker CPU {cpu_ms:.2f} ms per answer (median of {len(rows)} "
              f"rounds), {wall_s:.3f} s wall per answer from {CLIENTS} clients, "
              f"{sum(r[2] for r in rows)} answers shaped")
    ratio = statistics.median(r[0] for r in shaped) / statistics.median(r[0] for r in plain)
    print(f"CPU per shaped answer / per unshaped answer: {ratio:.2f}")


if __name__ == "__main__":
    main()
