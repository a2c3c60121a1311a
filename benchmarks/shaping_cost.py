"""What a bandwidth-shaped answer costs the worker, against the same answer unshaped.

`banksim serve` with one worker (8 threads) on a fresh SQLite bank; GET /openapi.json
(about 120 kB) from 4 clients, in interleaved rounds of four variants: the answer as the
app gives it (no rule applies); the same answer hit by a rule that does nothing to it (a
`latency` of 0 ms: what any hit costs, the decision, its event and counters); held two
seconds under a `latency` rule, then sent whole; and under a `bandwidth` rule that dribbles
it over those two seconds (eight chunks, a wait before each). The worker's CPU seconds
(from /proc) per answer, and their ratios. A dribbled body waits on a condition between
chunks: it should cost what the latency-held answer costs (a spinning wait would cost
seconds of CPU per answer); what both cost over the plain answer is the chaos layer's own
work on a hit and the held time (the rule re-checks and the buffered counters every held
request shares).
4 clients: the worker holds at most 4 slow answers at once (chaos's `max_held`); more
would not be held.

A worker is never idle: its settlement worker, webhook dispatcher, access-log writer and
chaos recorder wake on timers whether or not anyone asks anything. A held answer takes
seconds of wall time, so it is also charged for the timers that fired meanwhile, which a
plain answer (milliseconds) is not. Each round also measures the worker's CPU while no
request is in flight (IDLE_S seconds), and the figures are given twice: as measured, and
net of that idle rate times the round's wall time: what the answers themselves cost.

    python -m benchmarks.shaping_cost            # about two minutes
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
from loadtests.run.bank import free_port

TOKEN = "shaping-bench"
RATE = 60_000  # bytes/s: 120 kB in about two seconds, in 15 kB chunks
CLIENTS = 4
IDLE_S = 6.0  # each round's idle measurement
QUICK_TIMES = 10  # unshaped and hit rounds answer this many times more


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


def idle_rate(worker: int) -> float:
    """The worker's CPU seconds per second while no request is in flight (its timers)."""
    cpu, began = cpu_seconds(worker), time.monotonic()
    time.sleep(IDLE_S)
    return (cpu_seconds(worker) - cpu) / (time.monotonic() - began)


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
            size = len(requests.get(url + "/openapi.json", timeout=30).content)
            faults = {"hit": {"type": "latency", "ms": 0},
                      "latency": {"type": "latency", "ms": round(size / RATE * 1000)},
                      "bandwidth": {"type": "bandwidth", "bytes_per_s": RATE}}
            rules = {name: requests.post(url + "/admin/chaos/rules", headers=admin, json={
                "fault": fault, "match": {"path": "/openapi.json"}, "enabled": False},
                timeout=10).json()["id"] for name, fault in faults.items()}
            round_cpu(url, worker, CLIENTS)  # warm up
            rows: dict[str, list] = {"unshaped": [], **{name: [] for name in faults}}
            idle: list[float] = []
            for _ in range(options.rounds):
                idle.append(idle_rate(worker))
                for variant in rows:
                    for name, rule in rules.items():
                        requests.patch(f"{url}/admin/chaos/rules/{rule}", headers=admin,
                                       json={"enabled": name == variant}, timeout=10)
                    time.sleep(1.2)  # every worker applies a change within a second
                    # quick answers come in greater numbers, so that each round's CPU is
                    # many of /proc's 10 ms ticks
                    quick = variant in ("unshaped", "hit")
                    rows[variant].append(round_cpu(url, worker, options.answers * (
                        QUICK_TIMES if quick else 1)))
        finally:
            os.killpg(bank.pid, signal.SIGTERM)
            bank.wait(30)
    report(rows, statistics.median(idle))


def report(rows: dict[str, list], idle: float) -> None:
    """Medians over the rounds, as measured and net of the worker's idle CPU rate."""
    cpu = {name: statistics.median(r[0] for r in runs) for name, runs in rows.items()}
    net = {name: statistics.median(max(r[0] - idle * r[1], 0.0) for r in runs)
           for name, runs in rows.items()}
    print(f"idle worker: {idle * 1000:.2f} ms of CPU a second (its timers)")
    for name, runs in rows.items():
        print(f"{name:>9}: worker CPU {cpu[name] * 1000:.2f} ms per answer, "
              f"{net[name] * 1000:.2f} ms net of idle (median of {len(runs)} rounds), "
              f"{statistics.median(r[1] for r in runs):.3f} s wall per answer from "
              f"{CLIENTS} clients, {sum(r[2] for r in runs)} answers hit by a rule")
    for label, figures in (("as measured", cpu), ("net of idle", net)):
        print(f"CPU per answer {label}: bandwidth / latency-held "
              f"{figures['bandwidth'] / figures['latency']:.2f}; bandwidth / hit "
              f"{figures['bandwidth'] / figures['hit']:.2f}; bandwidth / unshaped "
              f"{figures['bandwidth'] / figures['unshaped']:.2f}")


if __name__ == "__main__":
    main()
