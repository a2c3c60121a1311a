"""`banksim incident`: seed a fresh bank, serve it, replay a scenario, report.

Everything here happens in subprocesses and over HTTP: `banksim seed` and
`banksim serve` for the bank, `locust` (which monkey-patches its own process
with gevent) for the users. This module never imports locust.
"""
import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from rich.console import Console

from banksim import environment
from chaos.client import AdminClient, AdminError
from loadtests.run.alert_rules import AlertRules
from loadtests.run.bank import (BankProcess, check_port, checkpoint_sqlite, free_port,
                                wait_until_drained)
from loadtests.run.children import Children, Interrupted, StopSignals
from loadtests.run.progress import JournalTail, watch as _watch  # noqa: F401 - JournalTail: tests
from loadtests.run.prometheus import PrometheusRun
from loadtests.run.reconcile import all_transfers, reconcile
from loadtests.run.webhook_watch import WebhookWatch
from loadtests.run.database_guard import RunDatabase
from loadtests.report import print_summary, write_report
from loadtests.report.guardrails import reasons as stop_reasons
from loadtests.report.steps import steps_fail_the_run
from loadtests.report.events import read_jsonl
from loadtests.run.rundir import build, run_files, write_run_json
from loadtests.scenario import Scenario, load, to_yaml
from loadtests.run.server_load import server_load

LOCUSTFILE = Path(__file__).parent.parent / "locustfile.py"  # what users give `locust -f`


@dataclass
class IncidentSettings:
    """A run: the scenario (a built-in's name or a file) and the command line's values;
    None means "the scenario's". `scenario_of()` applies them and validates the whole."""

    scenario: str = "bad-release"
    users: int | None = None
    duration_s: int | None = None
    seed: int = 42
    client_policy: str | None = None  # a built-in policy's name (the scenario's `client`)
    load_model: str | None = None
    rate: float | None = None
    out_dir: Path = Path("reports")
    thresholds: list[str] = field(default_factory=list)
    database_url: str | None = None
    workers: int | None = None  # None: the scenario's bank.workers, else 2
    seed_months: int = 2
    slo: float | None = None
    adoption: float | None = None
    think_s: tuple[float, float] | None = None
    halt_on_alert: bool | None = None
    rollout: float | None = None
    label: str | None = None  # the progress bar's name for the run (`banksim compare`)
    allow_failed_steps: bool = False  # a timeline step the bank refused does not fail the run
    reset_database: bool = False  # reset a database that holds someone else's data
    port: int | None = None  # the bank's port on 127.0.0.1 (None: a free one)
    prometheus: AlertRules | None = None  # run Prometheus with these rules (checked)

    def scenario_of(self) -> Scenario:
        """The scenario as run; raises ScenarioError listing every problem."""
        return load(self.scenario, {"users": self.users, "duration": self.duration_s,
                                    "client_policy": self.client_policy, "slo": self.slo,
                                    "adoption": self.adoption, "think": self.think_s,
                                    "halt_on_alert": self.halt_on_alert,
                                    "rollout": self.rollout, "load_model": self.load_model,
                                    "rate": self.rate})


def _run(children: Children, cmd: list[str], env: dict, what: str) -> None:
    process = children.start(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    _, stderr = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{what} failed ({process.returncode}):\n{stderr[-2000:]}")


def new_admin_token() -> str:
    """The run's admin token; it reaches the bank and Locust through their environment
    (BANKSIM_ADMIN_TOKEN), never a command line: `ps` would show it, and a token that
    starts with `-` reads as an option to Locust's parser."""
    return secrets.token_urlsafe(24)


def _locust_command(sc: Scenario, seed: int, url: str, files: dict) -> list[str]:
    """Locust plays the scenario as run (written to the report directory, so every
    process reads the same file with the command line's overrides in it)."""
    duration = int(sc.duration_s)
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
            "-u", str(sc.phones), "-r", f"{spawn_rate(sc):g}", "-t", f"{duration}s",
            "--stop-timeout", "10", "--host", url, "--only-summary",
            "--csv", str(files["csv"]), "--html", str(files["html"]),
            "--scenario", str(files["scenario"]), "--scenario-duration", str(duration),
            "--journeys-out", str(files["journeys"]), "--transfers-out", str(files["transfers"]),
            "--phases-out", str(files["phases"]), "--steps-out", str(files["steps"]),
            "--load-out", str(files["load"]),
            "--seeded-users", str(sc.users), "--seed", str(seed),
            "--sessions", str(files["sessions"])]


def spawn_rate(sc: Scenario) -> float:
    """Phones a second that open the app for the first time: all of them evenly over the
    scenario's `arrivals.over` (0 s: Locust starts them all at once); the open model's
    phones are all there at once, waiting for arrivals."""
    if sc.load_model == "open":
        return float(sc.phones)
    return round(sc.users / sc.arrival_s, 3) if sc.arrival_s > 0 else float(sc.users)


def run_incident(s: IncidentSettings, console: Console | None = None) -> int:
    """Run the scenario end to end; return the exit code (0 ok, 1 integrity, threshold, a
    timeline step the bank refused (unless allowed), a run that never reached its
    incident, a guardrail that aborted it or a failed preflight, 128 + N when signal N
    stopped it)."""
    console = console or Console()
    sc = s.scenario_of()  # a bad scenario stops here, before anything starts
    out = s.out_dir
    database = RunDatabase(s.database_url or f"sqlite:///{(out / 'bank.db').resolve()}",
                           run=str(out.resolve()))
    database.check(s.reset_database)  # RunRefused: nothing is written, nothing reset
    if s.port:
        check_port(s.port)
    out.mkdir(parents=True, exist_ok=True)
    token, port = new_admin_token(), s.port or free_port()
    env = {**os.environ, environment.ADMIN_TOKEN: token, environment.SEED: str(s.seed),
           environment.DATABASE_URL: database.url,
           environment.URL: f"http://127.0.0.1:{port}", environment.USERS: str(sc.users),
           "BANKSIM_SERVICE_MS": f"{sc.bank.get('service_ms', 0):g}",
           "BANKSIM_MAX_IN_FLIGHT": str(sc.bank.get("max_in_flight", 0))}
    files = run_files(out)
    for name in ("journeys", "transfers", "steps", "phases", "chaos", "alerts",
                 "prometheus_log", "webhooks", "webhook_events", "load"):
        files[name].unlink(missing_ok=True)
    for stale in ("report.json", "report.html", "main-chart.png"):  # another run's
        (out / stale).unlink(missing_ok=True)
    files["scenario"].write_text(to_yaml(sc), encoding="utf-8")
    write_run_json(out, s.seed, s.thresholds, s.allow_failed_steps, s.prometheus is not None)
    children, signals = Children(), StopSignals()
    with signals:
        try:
            alerting = PrometheusRun(s.prometheus) if s.prometheus else None
            try:
                integrity, server = _replay(sc, s, env, port, files, children, console,
                                            database, alerting)
            finally:
                signals.shield()  # a signal now waits until everything has stopped
                children.stop_all()
                if alerting:
                    alerting.close()  # its data directory
                database.mark_again()
                if not s.database_url:
                    checkpoint_sqlite(out / "bank.db")
                    checkpoint_sqlite(out / "bank-chaos.db")  # the bank's chaos state
            signals.resume()
            return _report(sc, s, integrity, server, console)
        except Interrupted as exc:
            signals.shield()  # the partial report is written whatever else arrives
            return _stopped(s, exc, console)


def _stopped(s: IncidentSettings, exc: Interrupted, console) -> int:
    """A signal stopped the run: its children are stopped; report what was measured,
    marked partial (never a pass), and exit 128 + the signal's number."""
    out = s.out_dir
    console.print(f"[bold red]stopped by {exc}[/]: the seed, the bank and Locust are "
                  f"stopped; the partial run is in {out.resolve()}", highlight=False)
    try:
        report = build(out, {"ok": False, "checked": False,
                             "reason": f"the run was stopped by {exc} before its ledger was "
                                       f"audited"}, {}, stopped_by=str(exc))
        write_report(report, out)
        print_summary(report, console=console)
        console.print(f"partial report: {(out / 'report.html').resolve()}", highlight=False)
    except (ValueError, OSError) as error:  # a damaged raw file, or a terminal gone (SIGHUP)
        with contextlib.suppress(OSError):
            console.print(f"[red]no partial report: {error}[/]", highlight=False)
    return 128 + exc.signum


def _replay(sc: Scenario, s: IncidentSettings, env: dict, port: int, files: dict,
            children: Children, console, database: RunDatabase,
            alerting: PrometheusRun | None = None) -> tuple[dict, dict]:
    """Seed, serve, run Locust; the integrity block and the bank's side of the load
    (`server_load`, read before the bank stops); the caller stops the children."""
    out = s.out_dir
    console.print(f"seeding {sc.users} customers into {env[environment.DATABASE_URL]} ...")
    _run(children, [sys.executable, "-m", "banksim", "seed", "--users", str(sc.users),
                    "--months", str(s.seed_months), "--seed", str(s.seed), "--reset",
                    "--sessions-out", str(files["sessions"])],
         env, "banksim seed")
    database.mark()  # the database is this run's now: the next run may reset it
    bank = BankProcess(env, port, s.workers or sc.bank.get("workers", 2), files["server_log"],
                       children, threads=sc.bank.get("threads", 8))
    bank.wait_healthy()
    admin = AdminClient(bank.url, env[environment.ADMIN_TOKEN], timeout_s=60)
    admin("DELETE", "/admin/chaos/rules")
    admin("POST", "/admin/chaos/enable")
    if alerting:
        alerting.start(children, port, free_port(), files["prometheus_log"], console)
    watch = WebhookWatch(admin, files["webhook_events"]) if sc.webhooks else None
    if watch is not None:
        children.on_stop(watch.stop)
    console.print(f"bank up at {bank.url}; running {sc.name} for {sc.duration_s:g} s "
                  f"with client policy {sc.client_policy}")
    locust_started = time.time()
    with open(out / "locust.log", "w") as locust_log:
        process = children.start(_locust_command(sc, s.seed, bank.url, files), env=env,
                                 stdout=locust_log, stderr=subprocess.STDOUT)
        _watch(process, sc, files["journeys"], console, s.label)
    if process.returncode not in (0, 1):  # 1 means "some requests failed": expected
        raise RuntimeError(f"locust exited with {process.returncode}; see {locust_log.name}")
    drained = wait_until_drained(bank.url)
    if drained is not None:
        console.print(f"[yellow]the bank was still busy {drained:g} s after Locust stopped "
                      f"(requests the phones had given up on): it was overloaded[/]")
    save_chaos_rules(admin, files["chaos"], console)
    if alerting:
        alerting.record(files, locust_started, console)
    try:
        if watch is not None:
            watch.finish(files["webhooks"])
        server = server_load(admin, requests.get(bank.url + "/metrics", timeout=60).text,
                             sc.duration_s, files["server_log"], sc)
        audit = admin("GET", "/admin/audit")
        transfers = all_transfers(admin)
    except (requests.RequestException, AdminError) as exc:
        reason = f"the bank did not answer the audit after the run ({exc}): it was overloaded"
        return {"ok": False, "checked": False, "reason": reason}, {}
    return reconcile(audit, transfers, read_jsonl(files["transfers"])), server


def save_chaos_rules(admin: AdminClient, path: Path, console) -> None:
    """The chaos rules left at the end of the run, with their counters (GET /admin/chaos),
    into `path`, read back by `_report`; nothing when the bank does not answer."""
    try:
        path.write_text(json.dumps(admin("GET", "/admin/chaos")), encoding="utf-8")
    except (requests.RequestException, AdminError) as exc:
        path.unlink(missing_ok=True)
        console.print(f"[yellow]could not read the chaos rules' counters after the run: "
                      f"{exc}[/]", highlight=False)


def _report(sc: Scenario, s: IncidentSettings, integrity: dict, server: dict,
            console) -> int:
    out = s.out_dir
    report = build(out, integrity, server)
    write_report(report, out)
    print_summary(report, console=console)
    console.print(f"report: {(out / 'report.html').resolve()}")
    missed = None if report.get("aborted_by") else never_reached(
        report, next(iter(sc.incident_versions()), None), int(sc.duration_s))
    if missed:
        console.print(f"[bold red]{missed}[/]", highlight=False)
    passed = (integrity["ok"] and all(t["passed"] for t in report["thresholds"])
              and report.get("webhooks", {}).get("integrity", {}).get("ok", True))
    stopped = stop_reasons(report)  # a guardrail aborted the run, or the preflight failed
    return 0 if passed and not steps_fail_the_run(report) and not stopped else 1


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


