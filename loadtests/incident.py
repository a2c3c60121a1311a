"""`banksim incident`: seed a fresh bank, serve it, replay the bad release, report.

Everything here happens in subprocesses and over HTTP: `banksim seed` and
`banksim serve` for the bank, `locust` (which monkey-patches its own process
with gevent) for the users. This module never imports locust.
"""
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import requests
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from .admin import AdminClient
from .reconcile import reconcile
from .report import build_report, print_summary, write_report

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


@dataclass
class IncidentSettings:
    scenario: str = "bad-release"
    users: int = 60
    duration_s: int = 180
    seed: int = 42
    client_policy: str = "backoff"
    out_dir: Path = Path("reports")
    thresholds: list[str] = field(default_factory=list)
    database_url: str | None = None
    workers: int = 2
    seed_months: int = 2
    slo: float = 0.99
    adoption: float = 0.35
    think_s: tuple[float, float] = (1.0, 4.0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BankProcess:
    """`banksim serve` in a subprocess, logging to a file, stopped on exit."""

    def __init__(self, env: dict, port: int, workers: int, log_path: Path):
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bankapi", "serve", "--port", str(port),
             "--workers", str(workers)], env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)

    def wait_healthy(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the bank exited with {self.process.returncode}; "
                                   f"see {self.log.name}")
            try:
                if requests.get(self.url + "/health", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the bank did not become healthy in {timeout_s} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def _run(cmd: list[str], env: dict, what: str) -> None:
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed ({result.returncode}):\n{result.stderr[-2000:]}")


def _read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _locust_command(s: IncidentSettings, url: str, token: str, files: dict) -> list[str]:
    spawn_rate = max(1, s.users // 5)
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
            "-u", str(s.users), "-r", str(spawn_rate), "-t", f"{s.duration_s}s",
            "--stop-timeout", "10", "--host", url, "--only-summary",
            "--csv", str(files["csv"]), "--html", str(files["html"]),
            "--client-policy", s.client_policy, "--timeline", s.scenario,
            "--admin-token", token, "--scenario-duration", str(s.duration_s),
            "--journeys-out", str(files["journeys"]), "--transfers-out", str(files["transfers"]),
            "--phases-out", str(files["phases"]), "--seeded-users", str(s.users),
            "--seed", str(s.seed), "--adoption", str(s.adoption),
            "--think-min", str(s.think_s[0]), "--think-max", str(s.think_s[1])]


def _watch(process: subprocess.Popen, s: IncidentSettings, journeys: Path, console) -> None:
    """A progress bar for the run, with the journeys finished and failed so far."""
    columns = (TextColumn("[bold]{task.description}"), BarColumn(),
               TextColumn("{task.fields[status]}"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"{s.scenario}, {s.users} users", total=s.duration_s,
                                 status="starting")
        started = time.monotonic()
        while process.poll() is None:
            events = _read_jsonl(journeys)
            failed = sum(not e["ok"] for e in events)
            progress.update(task, completed=min(time.monotonic() - started, s.duration_s),
                            status=f"{len(events)} journeys, {failed} failed")
            time.sleep(1)


def run_incident(s: IncidentSettings, console: Console | None = None) -> int:
    """Run the scenario end to end; return the exit code (0 ok, 1 integrity or threshold)."""
    console = console or Console()
    out = s.out_dir
    out.mkdir(parents=True, exist_ok=True)
    token, port = secrets.token_urlsafe(24), free_port()
    env = {**os.environ, "BANKSIM_ADMIN_TOKEN": token, "BANKSIM_SEED": str(s.seed),
           "BANKSIM_DATABASE_URL": s.database_url or f"sqlite:///{(out / 'bank.db').resolve()}",
           "BANKSIM_URL": f"http://127.0.0.1:{port}", "BANKSIM_USERS": str(s.users)}
    files = {"journeys": out / "journeys.jsonl", "transfers": out / "transfers.jsonl",
             "phases": out / "phases.json", "csv": out / "locust", "html": out / "locust.html"}
    for name in ("journeys", "transfers"):
        files[name].unlink(missing_ok=True)

    console.print(f"seeding {s.users} customers into {env['BANKSIM_DATABASE_URL']} ...")
    _run([sys.executable, "-m", "bankapi", "seed", "--users", str(s.users), "--months",
          str(s.seed_months), "--seed", str(s.seed), "--reset"], env, "banksim seed")
    bank = BankProcess(env, port, s.workers, out / "server.log")
    try:
        bank.wait_healthy()
        admin = AdminClient(bank.url, token, timeout_s=60)
        admin("DELETE", "/admin/chaos/rules")
        admin("POST", "/admin/chaos/enable")
        console.print(f"bank up at {bank.url}; running {s.scenario} for {s.duration_s} s "
                      f"with client policy {s.client_policy}")
        locust_log = open(out / "locust.log", "w")
        process = subprocess.Popen(_locust_command(s, bank.url, token, files), env=env,
                                   stdout=locust_log, stderr=subprocess.STDOUT)
        _watch(process, s, files["journeys"], console)
        locust_log.close()
        if process.returncode not in (0, 1):  # 1 means "some requests failed": expected
            raise RuntimeError(f"locust exited with {process.returncode}; see {locust_log.name}")
        audit = admin("GET", "/admin/audit")
        integrity = reconcile(audit, _all_transfers(admin),
                              _read_jsonl(files["transfers"]))
    finally:
        bank.stop()

    phases = json.loads(files["phases"].read_text()) if files["phases"].exists() else []
    meta = {"scenario": s.scenario, "seed": s.seed, "users": s.users,
            "duration_s": s.duration_s, "client_policy": s.client_policy}
    report = build_report(_read_jsonl(files["journeys"]), phases, meta, integrity,
                          s.thresholds, slo=s.slo)
    write_report(report, out)
    print_summary(report, console=console)
    console.print(f"report: {(out / 'report.html').resolve()}")
    passed = integrity["ok"] and all(t["passed"] for t in report["thresholds"])
    return 0 if passed else 1


def _all_transfers(admin: AdminClient) -> list[dict]:
    transfers, cursor = [], None
    while True:
        query = urlencode({"limit": 1000, **({"cursor": cursor} if cursor else {})})
        page = admin("GET", f"/admin/transfers?{query}")
        transfers += page["transfers"]
        cursor = page["next_cursor"]
        if not cursor:
            return transfers
