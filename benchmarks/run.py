"""banksim's performance ratios, each taken in one run on one machine.

    python -m benchmarks.run                 # every row; about five minutes
    python -m benchmarks.run --only R1,R2 --seconds 5
    python -m benchmarks.run --only R9,R10,R11 --repeat 3   # costs.py: audit, listing, PG seed

Each row pits two things against each other under the same conditions (same
machine, same moment, same gunicorn settings) and reports the ratio, which is
what survives a noisy, shared machine. Load comes from wrk (Debian package
`wrk`) on loopback. The table is written between the markers in
benchmarks/README.md together with the machine, the command and the date.
"""
import argparse
import datetime
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from benchmarks import costs
from benchmarks.locust_cost import r5_rows
from benchmarks.read_path import WRK_CONNECTIONS, r1_vs_bare_flask, wrk
from benchmarks.rules_cost import r8_rule_change_cost
from loadtests.run.bank import BankProcess, free_port

ROOT = Path(__file__).resolve().parent


class Bench:
    def __init__(self, args, database_url: str):
        self.args, self.token = args, secrets.token_urlsafe(16)
        # Cheap password hashes: R5 signs in a thousand phones, and what it measures is
        # Locust, not scrypt (43 ms a login on the bank).
        self.env = {**os.environ, "BANKSIM_DATABASE_URL": database_url,
                    "BANKSIM_ADMIN_TOKEN": self.token, "BANKSIM_ACCESS_LOG": "0",
                    "BANKSIM_PASSWORD_HASH": "pbkdf2:sha256:1000"}
        subprocess.run([sys.executable, "-m", "banksim", "seed", "--users", "40", "--months",
                        "1", "--reset"], env=self.env, check=True, capture_output=True)
        self.port = free_port()
        self.bank = BankProcess(self.env, self.port, args.workers,
                                Path(tempfile.gettempdir()) / "banksim-bench-server.log")
        self.bank.wait_healthy()
        self.url = self.bank.url
        self.users = [self._login(n) for n in range(1, 21)]

    def _login(self, n: int) -> dict:
        body = requests.post(self.url + "/auth/login", timeout=10, json={
            "email": f"user{n}@example.com", "password": "banksim"}).json()
        headers = {"Authorization": f"Bearer {body['access_token']}"}
        account = requests.get(self.url + "/accounts", headers=headers,
                               timeout=10).json()["accounts"][0]["id"]
        return {"n": n, "token": body["access_token"], "account": account}

    def admin(self, method, path, **kw):
        response = requests.request(method, self.url + path, timeout=10, **kw,
                                    headers={"Authorization": f"Bearer {self.token}"})
        response.raise_for_status()
        return response.json() if response.content else None

    def balance_rps(self, seconds: int) -> float:
        user = self.users[0]
        return wrk(f"{self.url}/accounts/{user['account']}/balance", seconds,
                   headers=[f"Authorization: Bearer {user['token']}", "X-App-Version: 4.1.3",
                            "X-Platform: ios"])

    def stop(self):
        self.bank.stop()


def r2_idle_rules(bench: Bench, seconds: int) -> dict:
    bench.admin("DELETE", "/admin/chaos/rules")
    bench.admin("POST", "/admin/chaos/enable")
    without, with_rules = [], []
    for _ in range(2):
        bench.admin("DELETE", "/admin/chaos/rules")
        time.sleep(1.2)
        without.append(bench.balance_rps(seconds))
        for n in range(50):
            bench.admin("POST", "/admin/chaos/rules", json={
                "name": f"idle {n}", "match": {"app_version": f"=={n}.9.9"},
                "fault": {"type": "error", "status": 503}, "probability": 1})
        time.sleep(1.2)
        with_rules.append(bench.balance_rps(seconds))
    bench.admin("DELETE", "/admin/chaos/rules")
    a, b = statistics.median(with_rules), statistics.median(without)
    return {"id": "R2", "measures": "GET balance with 50 idle chaos rules / none",
            "a": f"{a:.0f} req/s", "b": f"{b:.0f} req/s", "ratio": a / b, "target": ">= 0.97"}


def r3_transfers(bench: Bench, seconds: int, label: str) -> dict:
    senders = Path(tempfile.mkstemp(suffix=".txt")[1])
    lines = []
    for user in bench.users:
        recipient = 21 + (user["n"] % 20)
        lines.append(f"{user['token']} {user['account']} user{recipient}@example.com")
    senders.write_text("\n".join(lines) + "\n")
    env = {**os.environ, "BANKSIM_SENDERS": str(senders)}
    script = str(ROOT / "transfers.lua")
    one = wrk(bench.url, seconds, connections=1, script=script, env=env)
    many = wrk(bench.url, seconds, connections=WRK_CONNECTIONS, script=script, env=env)
    senders.unlink()
    return {"id": "R3", "measures": f"transfers/s on {label}: {WRK_CONNECTIONS} clients / 1 client",
            "a": f"{many:.0f} /s", "b": f"{one:.0f} /s", "ratio": many / one,
            "target": "report"}


def r4_seed_vs_executemany(users: int, months: int) -> dict:
    """Seeding (generation + bulk load) against a bare executemany of the very same rows."""
    import sqlite3

    from sqlalchemy import create_engine
    from werkzeug.security import generate_password_hash

    import seed
    from bankapi.models import Base
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{tmp}/seeded.db")
        stats = seed.seed_database(engine, users=users, months=months, reset=True,
                                   password_hash=generate_password_hash("banksim"))
        engine.dispose()
        source = sqlite3.connect(f"{tmp}/seeded.db")
        tables = {t.name: source.execute(f'SELECT * FROM "{t.name}"').fetchall()
                  for t in Base.metadata.sorted_tables}
        source.close()
        target_engine = create_engine(f"sqlite:///{tmp}/raw.db")
        Base.metadata.create_all(target_engine)
        target_engine.dispose()
        target = sqlite3.connect(f"{tmp}/raw.db")
        target.execute("PRAGMA synchronous=OFF")
        began = time.perf_counter()
        with target:
            for name, rows in tables.items():
                if rows:
                    marks = ",".join("?" * len(rows[0]))
                    target.executemany(f'INSERT INTO "{name}" VALUES ({marks})', rows)
        raw_s = time.perf_counter() - began
        target.close()
    rows = sum(len(r) for r in tables.values())
    seeded_rate, raw_rate = rows / stats["seconds"], rows / raw_s
    return {"id": "R4", "measures": f"seeding {users:,} users x {months} months ({rows:,} rows, "
            f"{stats['transactions']:,} transactions) / raw executemany of the same rows",
            "a": f"{seeded_rate:,.0f} rows/s ({stats['seconds']:.1f} s)",
            "b": f"{raw_rate:,.0f} rows/s ({raw_s:.1f} s)", "ratio": seeded_rate / raw_rate,
            "target": ">= 0.5; < 30 s"}


def r6_chaos_propagation(bench: Bench, trials: int = 5) -> dict:
    """From the admin's 201 to every worker applying a rule: poll on fresh connections.

    Background reads keep every worker busy: an idle worker re-reads the rules on its
    first request anyway, which would flatter the figure.
    """
    import threading
    path = "/app/releases/latest?platform=ios"
    delays, stop = [], threading.Event()
    user = bench.users[0]

    def background():
        session = requests.Session()
        while not stop.is_set():
            session.get(f"{bench.url}/accounts/{user['account']}/balance", timeout=5,
                        headers={"Authorization": f"Bearer {user['token']}"})
    threads = [threading.Thread(target=background, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    for _ in range(trials):
        bench.admin("DELETE", "/admin/chaos/rules")
        time.sleep(1.0)
        bench.admin("POST", "/admin/chaos/rules", json={
            "name": "r6", "match": {"path": "/app/releases/latest"},
            "fault": {"type": "error", "status": 503}})
        created, streak, streak_began = time.perf_counter(), 0, None
        while streak < 30 and time.perf_counter() - created < 5:
            # a fresh connection per request, so gunicorn spreads them over its workers
            status = requests.get(bench.url + path, timeout=5,
                                  headers={"Connection": "close"}).status_code
            if status != 503:
                streak = 0
            elif streak == 0:
                streak, streak_began = 1, time.perf_counter() - created
            else:
                streak += 1
        delays.append(streak_began if streak >= 30 else float("inf"))
    stop.set()
    for thread in threads:
        thread.join(10)
    bench.admin("DELETE", "/admin/chaos/rules")
    worst = max(delays)
    return {"id": "R6", "measures": f"chaos change reaching every one of {bench.args.workers} "
            f"workers (worst of {trials}; from the admin's answer to 30 faults in a row)",
            "a": f"{worst * 1000:.0f} ms", "b": "500 ms", "ratio": worst / 0.5,
            "target": "< 0.5 s (ratio < 1)"}


def r7_latency_accuracy(bench: Bench, samples: int = 150) -> dict:
    """A 100 ms latency fault should add 100 ms, not more: median(with) - median(without)."""
    user = bench.users[0]
    url = f"{bench.url}/accounts/{user['account']}/balance"
    bench.admin("DELETE", "/admin/chaos/rules")
    bench.admin("POST", "/admin/chaos/rules", json={
        "name": "r7", "match": {"app_version": "==9.0.0"},
        "fault": {"type": "latency", "ms": 100}})
    time.sleep(1.0)
    session = requests.Session()
    timings = {"9.0.0": [], "4.1.3": []}
    for n in range(samples * 2):
        version = "9.0.0" if n % 2 else "4.1.3"
        began = time.perf_counter()
        session.get(url, timeout=5, headers={"Authorization": f"Bearer {user['token']}",
                                             "X-App-Version": version}).raise_for_status()
        timings[version].append((time.perf_counter() - began) * 1000)
    bench.admin("DELETE", "/admin/chaos/rules")
    added = statistics.median(timings["9.0.0"]) - statistics.median(timings["4.1.3"])
    return {"id": "R7", "measures": "latency fault of 100 ms: median with - median without",
            "a": f"{added:.1f} ms", "b": "100 ms", "ratio": added / 100,
            "target": "within 5 ms (0.95-1.05)"}


def write_table(rows: list[dict], command: str, block: str = "results") -> None:
    """Put `rows` into README.md's table between the block's markers: a row of an id this
    run measured replaces that id's earlier rows; rows of other ids are kept as they are,
    so `--only R1` does not wipe R2-R8."""
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = f"<!-- {block}:start -->", f"<!-- {block}:end -->"
    head, _, rest = text.partition(start)
    old, _, tail = rest.partition(end)
    measured = {r["id"] for r in rows}
    new = [f"| {r['id']} | {r['measures']} | {r['a']} | {r['b']} | {r['ratio']:.2f} | "
           f"{r['target']} |" for r in rows]
    kept = [line for line in old.splitlines() if line.startswith("| R")
            and line.split("|")[1].strip() not in measured]
    ordered = sorted(kept + new, key=lambda line: int(line.split("|")[1].strip()[1:]))
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    earlier = " Other rows: earlier runs." if kept else ""
    table = [f"{', '.join(sorted(measured, key=lambda x: int(x[1:])))} measured "
             f"{datetime.date.today()} on {machine} with `{command}`.{earlier}", "",
             "| id | measures | a | b | ratio a/b | target |", "|---|---|---|---|---|---|",
             *ordered]
    readme.write_text(head + start + "\n" + "\n".join(table) + "\n" + end + tail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="R1,R2,R3,R4,R5,R6,R7,R8,R9,R10,R11",
                        help="comma-separated row ids")
    parser.add_argument("--phones", type=int, default=300, help="R5's simulated phones")
    parser.add_argument("--think", default="1,4",
                        help="R5's think time range, seconds (the incident's default: 1,4)")
    parser.add_argument("--r5-baseline", default="", metavar="REV",
                        help="R5 also runs git revision REV's loadtests/, interleaved")
    parser.add_argument("--seed-users", type=int, default=10_000, help="R4's customers")
    parser.add_argument("--seed-months", type=int, default=12, help="R4's months")
    parser.add_argument("--repeat", type=int, default=1,
                        help="R5, R8 and R10's repetitions")
    parser.add_argument("--r1-rounds", type=int, default=3, help="R1's interleaved rounds")
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration per measurement")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--postgres", default=os.environ.get(
        "BANKSIM_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    only = set(args.only.split(","))
    rows = costs.run(only, args)
    if only & {"R1", "R2", "R3", "R5", "R6", "R7", "R8"}:
        with tempfile.TemporaryDirectory() as tmp:
            bench = Bench(args, f"sqlite:///{tmp}/bench.db")
            try:
                if "R1" in only:
                    rows.extend(r1_vs_bare_flask(bench, args.seconds, args.r1_rounds))
                if "R2" in only:
                    rows.append(r2_idle_rules(bench, args.seconds))
                if "R3" in only:
                    rows.append(r3_transfers(bench, args.seconds, "SQLite"))
                if "R5" in only:
                    low, high = (float(x) for x in args.think.split(","))
                    rows.extend(r5_rows(bench.url, args.phones, (low, high),
                                        args.r5_baseline or None, args.repeat))
                if "R6" in only:
                    rows.append(r6_chaos_propagation(bench))
                if "R7" in only:
                    rows.append(r7_latency_accuracy(bench))
                if "R8" in only:
                    rows.extend(r8_rule_change_cost(bench))
            finally:
                bench.stop()
    if "R3" in only and args.postgres:
        bench = Bench(args, args.postgres)
        try:
            rows.append(r3_transfers(bench, args.seconds, "PostgreSQL"))
        finally:
            bench.stop()
    if "R4" in only:
        rows.append(r4_seed_vs_executemany(args.seed_users, args.seed_months))
    rows.sort(key=lambda row: int(row["id"][1:]))
    for row in rows:
        print(f"{row['id']}: {row['measures']}: {row['a']} vs {row['b']} -> {row['ratio']:.2f}"
              f" (target {row['target']})")
    if not args.no_write:  # R8-R10 have their own table, so either set can be rerun alone
        command = "python -m benchmarks.run " + " ".join(sys.argv[1:])
        for block, part in (("results", [r for r in rows if r["id"] not in costs.ROWS]),
                            ("costs", [r for r in rows if r["id"] in costs.ROWS])):
            if part:
                write_table(part, command, block)


if __name__ == "__main__":
    main()
