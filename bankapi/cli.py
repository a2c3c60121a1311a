"""The `banksim` command: serve, seed, audit, chaos, release, incident, loadtest."""
import os
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

console = Console()


@click.group()
@click.version_option(package_name="banksim")
def main():
    """banksim: a digital bank to break, and a way to see what its users lived through."""


@contextmanager
def _app():
    """The bank's app with its schema in place, shut down cleanly afterwards."""
    from . import create_app, init_database, shutdown
    app = create_app()
    init_database(app)
    try:
        yield app
    finally:
        shutdown(app)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn workers")
@click.option("--threads", default=8, show_default=True, type=int, help="threads per worker")
@click.option("--dev", is_flag=True, help="Flask's own server (one process, reloads nothing)")
def serve(host, port, workers, threads, dev):
    """Serve the bank (gunicorn by default)."""
    with _prepare_metrics_dir():
        _configure_access_log()
        if not os.environ.get("BANKSIM_ADMIN_TOKEN"):
            os.environ["BANKSIM_ADMIN_TOKEN"] = secrets.token_urlsafe(24)
            click.echo(f"admin token (set BANKSIM_ADMIN_TOKEN to choose one): "
                       f"{os.environ['BANKSIM_ADMIN_TOKEN']}")
        with _app() as app:  # creates the schema once, before any worker starts
            click.echo(f"banksim on http://{host}:{port} "
                       f"({'dev server' if dev else f'{workers} workers'}), "
                       f"database {app.config['DATABASE_URL']}")
            if dev:
                signal.signal(signal.SIGTERM, _exit_on_sigterm)  # so the directory goes too
                app.run(host=host, port=port, threaded=True)
                return
        from .server import GunicornServer
        GunicornServer(host, port, workers, threads).run()


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


def _configure_access_log() -> None:
    import logging
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    access = logging.getLogger("banksim.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO if os.environ.get("BANKSIM_ACCESS_LOG", "1") != "0"
                    else logging.WARNING)
    access.propagate = False


@main.command()
@click.option("--users", default=100, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--months", default=3, show_default=True, type=click.IntRange(1, 60))
@click.option("--seed", "seed_", envvar="BANKSIM_SEED", default=42, show_default=True, type=int)
@click.option("--reset", is_flag=True, help="drop the bank's data first")
@click.option("--skip-if-seeded", is_flag=True,
              help="exit 0 without seeding when the database already has customers "
                   "(for one-shot jobs that run on every start, e.g. docker compose)")
def seed(users, months, seed_, reset, skip_if_seeded):
    """Fill the database with deterministic Faker customers and their history."""
    from rich.progress import Progress
    from werkzeug.security import generate_password_hash

    import seed as seeding

    from .db import db
    with _app() as app:
        password_hash = generate_password_hash("banksim", app.config["PASSWORD_HASH_METHOD"])
        try:
            with Progress(console=console, transient=True) as progress:
                stats = seeding.seed_database(
                    db.engine_of(app), users=users, months=months,
                    seed=seed_, reset=reset, password_hash=password_hash, progress=progress)
        except seeding.AlreadySeeded as exc:
            if skip_if_seeded:
                console.print(f"{exc}; nothing to do")
                return
            raise click.ClickException(str(exc)) from None
    console.print("seeded: " + ", ".join(f"{k} {v}" for k, v in stats.items()))


@main.command()
def audit():
    """Check the ledger's invariants; exit 1 on any violation."""
    from .audit import run_audit
    from .db import db
    with _app() as app, app.app_context():
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


@main.group()
def release():
    """Publish app releases (what /app/releases/latest answers)."""


@release.command("publish")
@click.argument("version")
@click.option("--platform", type=click.Choice(["ios", "android", "all"]), default="all",
              show_default=True)
@click.option("--min-supported", "min_supported", help="oldest version still allowed")
@click.option("--notes", default="")
def publish(version, platform, min_supported, notes):
    """Publish VERSION through the admin API at BANKSIM_URL."""
    from chaos.cli import AdminAPI
    body = {"version": version, "platform": platform, "notes": notes}
    if min_supported:
        body["min_supported_version"] = min_supported
    api = AdminAPI(os.environ.get("BANKSIM_URL", "http://127.0.0.1:8000"),
                   os.environ.get("BANKSIM_ADMIN_TOKEN", ""), prefix="/admin")
    answer = api.call("POST", "/releases", json=body)
    console.print(f"published {answer['version']} for {answer['platform']} "
                  f"(min supported {answer['min_supported_version']})")


def _attach_optional_commands() -> None:
    """Commands whose packages ship with banksim but that the bank itself does not need."""
    from chaos.cli import chaos
    main.add_command(chaos)
    try:
        from loadtests.cli import incident, loadtest
    except ImportError as exc:  # the [load] extra is not installed
        missing = str(exc)

        @main.command(name="incident", context_settings={"ignore_unknown_options": True})
        @click.argument("args", nargs=-1, type=click.UNPROCESSED)
        def incident(args):
            """(needs the load extra: pip install 'banksim[load]')"""
            raise click.ClickException(f"install the load extra first ({missing})")
        return
    main.add_command(incident)
    main.add_command(loadtest)


_attach_optional_commands()
