"""The bank's commands, lent to the `banksim` command line: serve, audit, release, clock."""
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from .domain import releases

console = Console()


@contextmanager
def _app(create: bool = True, config: dict | None = None):
    """The bank's app (`config` over the environment's), shut down cleanly afterwards.
    With `create` its schema is put in place; without, a missing database is exit 2 and
    nothing is created (read-only commands). Database problems are one short message, not
    a traceback."""
    from . import create_app, init_database, shutdown
    from .config import Config
    from .database.db import db
    from .database.engines import (DatabaseUnavailable, explained_database_errors, has_bank,
                                   sqlite_file)
    try:
        url = Config().DATABASE_URL
    except ValueError as error:  # a setting that is not a number, or out of range
        raise click.ClickException(str(error)) from None
    try:
        with explained_database_errors(url):
            path = sqlite_file(url)
            if not create and path is not None and not path.exists():
                _no_database(f"there is no database at {path}")
            app = create_app(config)
            try:
                if create:
                    init_database(app)
                elif not has_bank(db.engine_of(app)):
                    _no_database(f"the database {url} has no bank in it")
            except BaseException:
                shutdown(app)
                raise
    except DatabaseUnavailable as error:
        raise click.ClickException(str(error)) from None
    try:
        yield app
    finally:
        shutdown(app)


def _no_database(what: str):
    click.echo(f"Error: {what} (BANKSIM_DATABASE_URL); create one with `banksim seed`, "
               "or point BANKSIM_DATABASE_URL at an existing one.", err=True)
    sys.exit(2)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn workers")
@click.option("--threads", default=8, show_default=True, type=int, help="threads per worker")
@click.option("--dev", is_flag=True, help="Flask's own server (one process, reloads nothing)")
def serve(host, port, workers, threads, dev):
    """Serve the bank (gunicorn by default), creating its tables if needed.

    \b
    Database: BANKSIM_DATABASE_URL (default sqlite:///banksim.db, i.e. ./banksim.db).
    """
    _check_port_free(host, port)
    access_log = os.environ.get("BANKSIM_ACCESS_LOG", "1") != "0"
    with _prepare_metrics_dir():
        if not os.environ.get("BANKSIM_ADMIN_TOKEN"):
            os.environ["BANKSIM_ADMIN_TOKEN"] = secrets.token_urlsafe(24)
            click.echo(f"admin token (set BANKSIM_ADMIN_TOKEN to choose one): "
                       f"{os.environ['BANKSIM_ADMIN_TOKEN']}")
        # creates the schema once, before any worker starts; with --dev it serves too
        with _app(config={"ACCESS_LOG": access_log, "SETTLEMENT_WORKER": dev}) as app:
            click.echo(f"banksim on http://{host}:{port} "
                       f"({'dev server' if dev else f'{workers} workers'}), "
                       f"database {app.config['DATABASE_URL']}")
            if dev:
                signal.signal(signal.SIGTERM, _exit_on_sigterm)  # so the directory goes too
                from .webhooks import dispatcher
                app.config["WEBHOOK_DISPATCH"] = True
                dispatcher.start(app)  # stopped by shutdown() when serving ends
                app.run(host=host, port=port, threaded=True)
                return
        from .server import GunicornServer
        GunicornServer(host, port, workers, threads, access_log=access_log).run()


def _check_port_free(host: str, port: int) -> None:
    """Fail in one line before printing anything when the address is taken."""
    import socket
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            sock.bind((host, port))
        except OSError as error:
            raise click.ClickException(
                f"cannot listen on {host}:{port}: {error.strerror or error} "
                "(is another banksim serve running? stop it or pick --port)") from None


@contextmanager
def _prepare_metrics_dir():
    """A fresh directory where every worker writes its metrics, removed when serve exits.

    prometheus_client reads PROMETHEUS_MULTIPROC_DIR once, when it is first imported: had
    anything imported it before, each worker would count in its own memory and /metrics
    would read an empty directory, so that is refused here rather than served silently.
    A directory the operator chose is kept, but emptied of an earlier run's files.
    """
    chosen = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if chosen:
        Path(chosen).mkdir(parents=True, exist_ok=True)
        for stale in Path(chosen).glob("*.db"):
            stale.unlink()
        yield chosen
        return
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before serve chose "
                           "PROMETHEUS_MULTIPROC_DIR; /metrics would be empty")
    path = tempfile.mkdtemp(prefix="banksim-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    owner = os.getpid()
    try:
        yield path
    finally:
        if os.getpid() == owner:  # gunicorn forks its workers inside this block
            shutil.rmtree(path, ignore_errors=True)


def _exit_on_sigterm(_signum, _frame):
    sys.exit(0)


@click.command()
def audit():
    """Check the ledger's invariants; exit 1 on any violation, 2 if there is no database.

    \b
    Database: BANKSIM_DATABASE_URL (default sqlite:///banksim.db, i.e. ./banksim.db);
    read only, never created.
    """
    from .domain.audit import run_audit
    from .database.db import db
    with _app(create=False) as app, app.app_context():
        result = run_audit(db.session)
    _print_audit(result)
    sys.exit(0 if result["ok"] else 1)


def _print_audit(result: dict) -> None:
    table = Table(title="ledger audit")
    for column in ("check", "result", "violations", "examples"):
        table.add_column(column)
    for name, check in result["checks"].items():
        table.add_row(name, "[green]ok[/]" if check["ok"] else "[red]FAIL[/]",
                      str(check["violations"]), ", ".join(check["examples"]))
    console.print(table)
    console.print("[green]ledger ok[/]" if result["ok"] else "[red]ledger audit FAILED[/]")


@click.group()
def release():
    """Publish app releases and steer their staged rollouts (what /app/releases/latest
    answers), through the admin API at BANKSIM_URL with BANKSIM_ADMIN_TOKEN."""


def _admin_api():
    from chaos.client import AdminClient
    from banksim import environment
    return AdminClient(environment.url(), environment.admin_token(), prefix="/admin")


def _rollout(release: dict) -> str:
    state = "halted" if release.get("halted") else "rollout"
    return f"{state} {release.get('rollout_percent', 100):g} %"


@release.command("publish")
@click.argument("version")
@click.option("--platform", type=click.Choice(releases.TARGETS), default="all",
              show_default=True)
@click.option("--min-supported", "min_supported", help="oldest version still allowed")
@click.option("--rollout", "rollout_percent", type=float, default=100, show_default=True,
              metavar="PERCENT", help="share of devices offered it (staged rollout)")
@click.option("--notes", default="")
def publish(version, platform, min_supported, rollout_percent, notes):
    """Publish VERSION."""
    body = {"version": version, "platform": platform, "notes": notes,
            "rollout_percent": rollout_percent}
    if min_supported:
        body["min_supported_version"] = min_supported
    answer = _admin_api().call("POST", "/releases", json=body)
    console.print(f"published {answer['version']} for {answer['platform']} "
                  f"(min supported {answer['min_supported_version']}, {_rollout(answer)})")


_PLATFORM = click.option("--platform", type=click.Choice(releases.PLATFORMS),
                         help="only this platform (default: every one it was published for)")


def _change(version: str, platform: str | None, body: dict) -> None:
    from urllib.parse import quote
    answer = _admin_api().call("PATCH", f"/releases/{quote(version, safe='')}", json=body,
                               params={"platform": platform} if platform else None)
    for changed in answer["releases"]:
        console.print(f"{changed['version']} on {changed['platform']}: {_rollout(changed)}")


@release.command("rollout")
@click.argument("version")
@click.argument("percent", type=float)
@_PLATFORM
def rollout(version, percent, platform):
    """Offer VERSION to PERCENT % of devices (raise or lower; sticky per device)."""
    _change(version, platform, {"rollout_percent": percent})


@release.command("halt")
@click.argument("version")
@_PLATFORM
def halt(version, platform):
    """Stop offering VERSION to anyone not already running it."""
    _change(version, platform, {"halted": True})


@release.command("resume")
@click.argument("version")
@_PLATFORM
def resume(version, platform):
    """Resume a halted rollout of VERSION at its percent."""
    _change(version, platform, {"halted": False})


@click.group()
def clock():
    """Move the bank's time forward (the test clock: the server must run with
    BANKSIM_TEST_CLOCK=1), through the admin API at BANKSIM_URL with BANKSIM_ADMIN_TOKEN."""


class Duration(click.ParamType):
    """`3d`, `12h`, `30m`, `45s`, a sum of them (`1d12h`) or plain seconds (`90`)."""

    name = "duration"
    UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    PART = re.compile(r"([0-9]+)([dhms]?)")

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        text = str(value).strip().lower()
        parts = self.PART.findall(text)
        if not text or "".join(n + u for n, u in parts) != text \
                or any(not unit for _, unit in parts[:-1]):
            self.fail(f"{value!r} is not a duration like 3d, 12h, 30m, 45s or 1d12h", param, ctx)
        return sum(int(number) * self.UNITS[unit or "s"] for number, unit in parts)


def _print_clock(answer: dict) -> None:
    offset = answer["offset_s"]
    days, rest = divmod(offset, 86400)
    console.print(f"bank time {answer['now']} ({days} d {rest // 3600} h "
                  f"{rest % 3600 // 60} min {rest % 60} s ahead of real time)")


@clock.command("advance")
@click.argument("duration", type=Duration())
def clock_advance(duration):
    """Move the bank's time forward by DURATION (3d, 12h, 30m, 45s; at most 400 days)."""
    _print_clock(_admin_api().call("POST", "/clock/advance", json={"seconds": duration}))


@clock.command("status")
def clock_status():
    """The bank's time and how far ahead of real time it is."""
    _print_clock(_admin_api().call("GET", "/clock"))


COMMANDS = (serve, audit, release, clock)
