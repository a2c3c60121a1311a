"""banksim's performance ratios, each taken in one run on one machine.

    python benchmarks/run.py                 # every row; about five minutes
    python benchmarks/run.py --only R1,R2 --seconds 5

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
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from loadtests.incident import BankProcess, free_port  # noqa: E402

WRK_CONNECTIONS = 16


def wrk(url: str, seconds: int, connections: int = WRK_CONNECTIONS, headers=(),
        script: str | None = None, env=None) -> float:
    """Requests per second that wrk sustained (non-2xx answers are reported separately)."""
    cmd = ["wrk", "-t", "2" if connections > 1 else "1", "-c", str(connections), "-d",
           f"{seconds}s", "--latency"]
    for header in headers:
        cmd += ["-H", header]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, env=env, check=True).stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        print(f"    warning: {bad.group(1)} non-2xx answers from {url}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


class Bench:
    def __init__(self, args, database_url: str):
        self.args, self.token = args, secrets.token_urlsafe(16)
        self.env = {**os.environ, "BANKSIM_DATABASE_URL": database_url,
                    "BANKSIM_ADMIN_TOKEN": self.token, "BANKSIM_ACCESS_LOG": "0"}
        subprocess.run([sys.executable, "-m", "bankapi", "seed", "--users", "40", "--months",
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


def r1_vs_bare_flask(bench: Bench, seconds: int) -> dict:
    port = free_port()
    bare = subprocess.Popen([sys.executable, str(ROOT / "bare_app.py"), str(port),
                             str(bench.args.workers), "8"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait(f"http://127.0.0.1:{port}/bare/balance")
        bank, ceiling = [], []
        for _ in range(2):  # interleave to share whatever else the machine is doing
            bank.append(bench.balance_rps(seconds))
            ceiling.append(wrk(f"http://127.0.0.1:{port}/bare/balance", seconds))
    finally:
        bare.terminate()
        bare.wait()
    b, c = statistics.median(bank), statistics.median(ceiling)
    return {"id": "R1", "measures": "GET balance on banksim serve / bare Flask JSON route",
            "a": f"{b:.0f} req/s", "b": f"{c:.0f} req/s", "ratio": b / c, "target": ">= 0.6"}


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
    return {"id": "R3", "measures": f"transfers/s on {label}: 1 client / {WRK_CONNECTIONS} clients",
            "a": f"{one:.0f} /s", "b": f"{many:.0f} /s", "ratio": many / one,
            "target": "report"}


def _wait(url: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{url} never answered")


def write_table(rows: list[dict], command: str) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    table = [f"Measured {datetime.date.today()} on {machine} with `{command}`.", "",
             "| id | measures | a | b | ratio a/b | target |", "|---|---|---|---|---|---|"]
    table += [f"| {r['id']} | {r['measures']} | {r['a']} | {r['b']} | {r['ratio']:.2f} | "
              f"{r['target']} |" for r in rows]
    start, end = "<!-- results:start -->", "<!-- results:end -->"
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    readme.write_text(head + start + "\n" + "\n".join(table) + "\n" + end + tail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="R1,R2,R3", help="comma-separated row ids")
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration per measurement")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--postgres", default=os.environ.get(
        "BANKSIM_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    only = set(args.only.split(","))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(args, f"sqlite:///{tmp}/bench.db")
        try:
            if "R1" in only:
                rows.append(r1_vs_bare_flask(bench, args.seconds))
            if "R2" in only:
                rows.append(r2_idle_rules(bench, args.seconds))
            if "R3" in only:
                rows.append(r3_transfers(bench, args.seconds, "SQLite"))
        finally:
            bench.stop()
    if "R3" in only and args.postgres:
        bench = Bench(args, args.postgres)
        try:
            rows.append(r3_transfers(bench, args.seconds, "PostgreSQL"))
        finally:
            bench.stop()
    for row in rows:
        print(f"{row['id']}: {row['measures']}: {row['a']} vs {row['b']} -> {row['ratio']:.2f}"
              f" (target {row['target']})")
    if not args.no_write:
        write_table(rows, "python benchmarks/run.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
