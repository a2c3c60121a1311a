"""Soak: minutes of steady mixed load against `banksim serve` with chaos off; errors must be 0
and the server's memory (RSS of the gunicorn master and its workers) should not climb.

    python -m benchmarks.soak [--minutes 5] [--threads 8] [--users 50] [--out soak.json]

Seeds a fresh SQLite bank in a temporary directory (or BANKSIM_DATABASE_URL with --reset),
starts `banksim serve --workers 2` on a free port on 127.0.0.1, and runs plain threads of
`requests` clients (each a seeded customer) doing what the mobile app does: accounts,
balance, transactions, notifications, budgets, and small transfers and payments with
Idempotency-Keys. A 422 `insufficient_funds` is a valid answer; anything else that is not a
2xx, and any connection error, is an error. Prints RSS samples and a JSON summary; exit 1 if
any request failed. Not part of the test suite.
"""
import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import requests

from loadtests.run.bank import BankProcess, free_port


def rss_kib(pid: int) -> dict[int, int]:
    """VmRSS of `pid` and its direct children (gunicorn's workers), from /proc."""
    found = {}
    children = Path(f"/proc/{pid}/task/{pid}/children")
    pids = [pid] + ([int(c) for c in children.read_text().split()] if children.exists() else [])
    for one in pids:
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    found[one] = int(line.split()[1])
        except FileNotFoundError:
            pass  # a worker that just exited
    return found


def growth_after_warmup(samples: list[dict], warmup_s: float) -> dict:
    """RSS once warm (caches, pools and lazy imports filled) and its least-squares slope
    from then on: a leak shows as a steady slope, warming up as a step at the start."""
    warm = [s for s in samples if s["t_s"] >= warmup_s]
    if len(warm) < 2:
        return {}
    t0, n = warm[0]["t_s"], len(warm)
    xs = [(s["t_s"] - t0) / 60 for s in warm]
    ys = [s["rss_kib"] / 1024 for s in warm]
    mx, my = sum(xs) / n, sum(ys) / n
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs)
    return {"rss_warm_mib": round(ys[0], 1), "rss_growth_mib_per_min_after_warmup":
            round(slope, 2)}


class Client(threading.Thread):
    def __init__(self, url: str, number: int, users: int, deadline: float, seed: int):
        super().__init__(daemon=True)
        self.url, self.deadline = url, deadline
        self.rng = random.Random(seed * 100 + number)
        self.email = f"user{number % users + 1}@example.com"
        self.peer = f"user{(number + 1) % users + 1}@example.com"
        self.outcomes, self.errors = Counter(), []
        self.http = requests.Session()

    def call(self, method: str, path: str, ok=(200, 201), **kw):
        try:
            response = self.http.request(method, self.url + path, timeout=10, **kw)
        except requests.RequestException as exc:
            self.outcomes["error"] += 1
            self.errors.append(f"{method} {path}: {type(exc).__name__}")
            return None
        code = (response.json().get("error") or {}).get("code") \
            if response.status_code >= 400 else None
        if response.status_code in ok or code == "insufficient_funds":
            self.outcomes["ok"] += 1
            return response
        self.outcomes["error"] += 1
        self.errors.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
        return None

    def run(self):
        login = self.call("POST", "/auth/login",
                          json={"email": self.email, "password": "banksim"})
        if login is None:
            return
        self.http.headers.update({"Authorization": f"Bearer {login.json()['access_token']}",
                                  "X-App-Version": "4.1.3", "X-Platform": "android"})
        accounts = self.call("GET", "/accounts")
        account = accounts.json()["accounts"][0]["id"] if accounts else None
        while time.monotonic() < self.deadline and account:
            choice = self.rng.random()
            if choice < 0.25:
                self.call("GET", f"/accounts/{account}/balance")
            elif choice < 0.45:
                self.call("GET", f"/accounts/{account}/transactions?limit=20")
            elif choice < 0.60:
                self.call("GET", "/notifications?limit=20")
            elif choice < 0.70:
                self.call("GET", "/budgets")
            elif choice < 0.85:
                self.call("POST", "/transfers", headers={"Idempotency-Key": uuid.uuid4().hex},
                          json={"from_account_id": account, "to_email": self.peer,
                                "amount": self.rng.randint(1, 500), "currency": "GBP",
                                "reference": "soak"})
            else:
                self.call("POST", "/payments", headers={"Idempotency-Key": uuid.uuid4().hex},
                          json={"account_id": account, "amount": self.rng.randint(1, 300),
                                "merchant": "Soak Coffee", "category": "eating_out"})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--sample-s", type=float, default=30)
    parser.add_argument("--warmup-s", type=float, default=60,
                        help="memory growth is judged from the first sample after this")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="banksim-soak-"))
    (workdir / "metrics").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANKSIM_")}
    env.update(BANKSIM_DATABASE_URL=os.environ.get("BANKSIM_DATABASE_URL",
                                                   f"sqlite:///{workdir / 'soak.db'}"),
               BANKSIM_ADMIN_TOKEN=uuid.uuid4().hex, BANKSIM_ACCESS_LOG="0", BANKSIM_CHAOS="1",
               PROMETHEUS_MULTIPROC_DIR=str(workdir / "metrics"))
    import subprocess
    subprocess.run([sys.executable, "-m", "banksim", "seed", "--users", str(args.users),
                    "--months", "1", "--reset"], env=env, check=True, capture_output=True)
    bank = BankProcess(env, free_port(), 2, workdir / "server.log")
    try:
        bank.wait_healthy()
        chaos = requests.get(bank.url + "/admin/chaos", timeout=10, headers={
            "Authorization": f"Bearer {env['BANKSIM_ADMIN_TOKEN']}"}).json()
        assert not chaos["rules"], "chaos must be off for a soak"
        start = time.monotonic()
        deadline = start + args.minutes * 60
        clients = [Client(bank.url, n, args.users, deadline, 42) for n in range(args.threads)]
        samples = [{"t_s": 0.0, "rss_kib": sum(rss_kib(bank.process.pid).values())}]
        print(f"soak: {args.minutes} min, {args.threads} clients, {bank.url}, "
              f"start RSS {samples[0]['rss_kib'] / 1024:.1f} MiB", flush=True)
        for client in clients:
            client.start()
        while time.monotonic() < deadline:
            time.sleep(min(args.sample_s, max(0.0, deadline - time.monotonic())))
            done = sum(sum(c.outcomes.values()) for c in clients)
            per_process = rss_kib(bank.process.pid)
            samples.append({"t_s": round(time.monotonic() - start, 1), "requests": done,
                            "rss_kib": sum(per_process.values())})
            print(f"  {samples[-1]['t_s']:7.1f} s  {done:7d} requests  "
                  f"RSS {samples[-1]['rss_kib'] / 1024:.1f} MiB  (by process: "
                  + ", ".join(f"{kib / 1024:.0f}" for kib in per_process.values()) + ")",
                  flush=True)
        for client in clients:
            client.join(timeout=30)
        elapsed = time.monotonic() - start
        outcomes = sum((c.outcomes for c in clients), Counter())
        audit = requests.get(bank.url + "/admin/audit", timeout=60, headers={
            "Authorization": f"Bearer {env['BANKSIM_ADMIN_TOKEN']}"}).json()
        summary = {
            "minutes": args.minutes, "clients": args.threads,
            "requests": sum(outcomes.values()), "errors": outcomes["error"],
            "requests_per_s": round(sum(outcomes.values()) / elapsed, 1),
            "rss_start_mib": round(samples[0]["rss_kib"] / 1024, 1),
            "rss_end_mib": round(samples[-1]["rss_kib"] / 1024, 1),
            **growth_after_warmup(samples, args.warmup_s),
            "processes": len(rss_kib(bank.process.pid)), "audit_ok": audit["ok"],
            "first_errors": [e for c in clients for e in c.errors][:10], "samples": samples}
    finally:
        bank.stop()
    print(json.dumps({k: v for k, v in summary.items() if k != "samples"}, indent=1))
    if args.out:
        args.out.write_text(json.dumps(summary, indent=1))
    return 0 if summary["errors"] == 0 and summary["audit_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
