"""`banksim incident`: seed a fresh bank, serve it, replay the bad release, report.

Everything here happens in subprocesses and over HTTP: `banksim seed` and
`banksim serve` for the bank, `locust` (which monkey-patches its own process
with gevent) for the users. This module never imports locust.
"""
import json
import os
import secrets
import socket
import sqlite3
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
from .children import Children, Interrupted, StopSignals
from .reconcile import reconcile
from .report import build_report, print_summary, write_report
from .timeline import phases_for, schedule

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
    """`banksim serve` in a subprocess (its own process group), logging to a file.

    A run hands in its `Children`, which stop the bank with everything else it started;
    alone (tests, benchmarks) the bank has its own, and `stop()` ends it."""

    def __init__(self, env: dict, port: int, workers: int, log_path: Path,
                 children: Children | None = None, threads: int = 8):
        self.url, self.log_path = f"http://127.0.0.1:{port}", log_path
        self.children = children or Children()
        with open(log_path, "w") as log:
            self.process = self.children.start(
                [sys.executable, "-m", "banksim", "serve", "--port", str(port),
                 "--workers", str(workers), "--threads", str(threads)],
                env=env, stdout=log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        self.children.stop_all([self.process])

    def wait_healthy(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the bank exited with {self.process.returncode}; "
                                   f"see {self.log_path}")
            try:
                if requests.get(self.url + "/health", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the bank did not become healthy in {timeout_s} s")


def _run(children: Children, cmd: list[str], env: dict, what: str) -> None:
    process = children.start(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    _, stderr = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{what} failed ({process.returncode}):\n{stderr[-2000:]}")


def _read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def new_admin_token() -> str:
    """The run's admin token; it reaches the bank and Locust through their environment
    (BANKSIM_ADMIN_TOKEN), never a command line: `ps` would show it, and a token that
    starts with `-` reads as an option to Locust's parser."""
    return secrets.token_urlsafe(24)


def _locust_command(s: IncidentSettings, url: str, files: dict) -> list[str]:
    spawn_rate = max(1, s.users // 5)
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
            "-u", str(s.users), "-r", str(spawn_rate), "-t", f"{s.duration_s}s",
            "--stop-timeout", "10", "--host", url, "--only-summary",
            "--csv", str(files["csv"]), "--html", str(files["html"]),
            "--client-policy", s.client_policy, "--timeline", s.scenario,
            "--scenario-duration", str(s.duration_s),
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
    """Run the scenario end to end; return the exit code (0 ok, 1 integrity, threshold or a
    run that never reached its incident, 128 + N when signal N stopped it)."""
    console = console or Console()
    out = s.out_dir
    out.mkdir(parents=True, exist_ok=True)
    token, port = new_admin_token(), free_port()
    env = {**os.environ, "BANKSIM_ADMIN_TOKEN": token, "BANKSIM_SEED": str(s.seed),
           "BANKSIM_DATABASE_URL": s.database_url or f"sqlite:///{(out / 'bank.db').resolve()}",
           "BANKSIM_URL": f"http://127.0.0.1:{port}", "BANKSIM_USERS": str(s.users)}
    files = {"journeys": out / "journeys.jsonl", "transfers": out / "transfers.jsonl",
             "phases": out / "phases.json", "csv": out / "locust", "html": out / "locust.html"}
    for name in ("journeys", "transfers"):
        files[name].unlink(missing_ok=True)
    children, signals = Children(), StopSignals()
    try:
        with signals:
            try:
                integrity = _replay(s, env, port, files, children, console)
            finally:
                signals.shield()  # a signal now waits until everything has stopped
                children.stop_all()
                if not s.database_url:
                    checkpoint_sqlite(out / "bank.db")
            signals.resume()
            return _report(s, files, integrity, console)
    except Interrupted as exc:
        console.print(f"[bold red]stopped by {exc}[/]: the seed, the bank and Locust are "
                      f"stopped; the partial run is in {out.resolve()}", highlight=False)
        return 128 + exc.signum


def _replay(s: IncidentSettings, env: dict, port: int, files: dict, children: Children,
            console) -> dict:
    """Seed, serve, run Locust; the integrity block (the caller stops the children)."""
    out = s.out_dir
    console.print(f"seeding {s.users} customers into {env['BANKSIM_DATABASE_URL']} ...")
    _run(children, [sys.executable, "-m", "banksim", "seed", "--users", str(s.users),
                    "--months", str(s.seed_months), "--seed", str(s.seed), "--reset"],
         env, "banksim seed")
    bank = BankProcess(env, port, s.workers, out / "server.log", children)
    bank.wait_healthy()
    admin = AdminClient(bank.url, env["BANKSIM_ADMIN_TOKEN"], timeout_s=60)
    admin("DELETE", "/admin/chaos/rules")
    admin("POST", "/admin/chaos/enable")
    console.print(f"bank up at {bank.url}; running {s.scenario} for {s.duration_s} s "
                  f"with client policy {s.client_policy}")
    with open(out / "locust.log", "w") as locust_log:
        process = children.start(_locust_command(s, bank.url, files), env=env,
                                 stdout=locust_log, stderr=subprocess.STDOUT)
        _watch(process, s, files["journeys"], console)
    if process.returncode not in (0, 1):  # 1 means "some requests failed": expected
        raise RuntimeError(f"locust exited with {process.returncode}; see {locust_log.name}")
    audit = admin("GET", "/admin/audit")
    return reconcile(audit, _all_transfers(admin), _read_jsonl(files["transfers"]))


def _report(s: IncidentSettings, files: dict, integrity: dict, console) -> int:
    out = s.out_dir
    phases = json.loads(files["phases"].read_text()) if files["phases"].exists() else []
    meta = {"scenario": s.scenario, "seed": s.seed, "users": s.users,
            "duration_s": s.duration_s, "client_policy": s.client_policy}
    version = incident_version(s.scenario, s.duration_s)
    report = build_report(_read_jsonl(files["journeys"]), phases, meta, integrity,
                          [*s.thresholds, *reach_thresholds(version)], slo=s.slo)
    write_report(report, out)
    print_summary(report, console=console)
    console.print(f"report: {(out / 'report.html').resolve()}")
    missed = never_reached(report, version, s.duration_s)
    if missed:
        console.print(f"[bold red]{missed}[/]", highlight=False)
    passed = integrity["ok"] and all(t["passed"] for t in report["thresholds"])
    return 0 if passed else 1


def incident_version(scenario: str, duration_s: float) -> str | None:
    """The version the scenario's incident phase publishes, read from its timeline."""
    for step in schedule(phases_for(duration_s, scenario), scenario):
        for call in step.calls:
            if step.phase == "incident" and call.path == "/admin/releases":
                return call.body["version"]
    return None


def reach_thresholds(version: str | None) -> list[str]:
    """Thresholds every run must meet: it measured journeys, and some ran the version the
    incident published, during the incident (a run that never got there shows nothing)."""
    return ["journeys>=1",
            *([f"journeys[app_version={version},phase=incident]>=1"] if version else [])]


def never_reached(report: dict, version: str | None, duration_s: int) -> str | None:
    """Why the run shows no incident, and how long one needs; None when it reached it."""
    journeys = sum(row["attempts"] for row in report["journeys"])
    on_version = sum(row["attempts"] for row in report["journeys"]
                     if row["app_version"] == version and row["phase"] == "incident")
    if journeys and (on_version or version is None):
        return None
    longer = (f"--duration {max(60, 3 * duration_s)}s or more (or more --users, "
              f"a higher --adoption)")
    if version is None:
        return f"the run measured nothing: no journeys finished; run longer, e.g. {longer}."
    what = (f"no journeys on {version}, the version the incident published, during the "
            f"incident" if journeys
            else "no journeys finished at all")
    window = next((f" ({p['start_s']:g}-{p['end_s']:g} s of this {duration_s} s run)"
                   for p in report["phases"] if p["name"] == "incident"), "")
    return (f"the run never reached its incident: {what}. Users install {version} when they "
            f"open the app during the incident phase{window}; run longer, e.g. {longer}.")


def _all_transfers(admin: AdminClient) -> list[dict]:
    transfers, cursor = [], None
    while True:
        query = urlencode({"limit": 1000, **({"cursor": cursor} if cursor else {})})
        page = admin("GET", f"/admin/transfers?{query}")
        transfers += page["transfers"]
        cursor = page["next_cursor"]
        if not cursor:
            return transfers


def checkpoint_sqlite(path: Path) -> None:
    """Fold the bank's write-ahead log into bank.db, so the report directory holds one
    database file (no multi-MB bank.db-wal); the last connection to close removes it."""
    if not path.exists():
        return
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
