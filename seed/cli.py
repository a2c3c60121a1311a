"""`banksim seed`, lent to the `banksim` command line by the seed package."""
import os
from pathlib import Path

import click
from rich.console import Console
from rich.progress import Progress

from banksim import environment

console = Console()


@click.command()
@click.option("--users", default=100, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--months", default=3, show_default=True, type=click.IntRange(1, 60))
@click.option("--seed", "seed_", envvar=environment.SEED, default=environment.DEFAULT_SEED,
              show_default=True, type=int)
@click.option("--reset", is_flag=True, help="drop the bank's data first")
@click.option("--skip-if-seeded", is_flag=True,
              help="exit 0 without seeding when the database already has customers "
                   "(for one-shot jobs that run on every start, e.g. docker compose)")
@click.option("--sessions-out", type=click.Path(dir_okay=False, path_type=Path),
              help="also sign in customers user1..userN (one device session each, also "
                   "with --skip-if-seeded) and write their refresh tokens to this JSON "
                   "file (mode 0600)")
def seed(users, months, seed_, reset, skip_if_seeded, sessions_out):
    """Fill the database with deterministic Faker customers and their history.

    \b
    Database: BANKSIM_DATABASE_URL (default sqlite:///banksim.db, i.e. ./banksim.db),
    created if missing.
    """
    from werkzeug.security import generate_password_hash

    from bankapi.config import Config
    from bankapi.database.engines import DatabaseUnavailable, explained_database_errors, make_engine

    if sessions_out is not None:
        _check_writable(sessions_out.parent)
    config = Config()
    password_hash = generate_password_hash("banksim", config.PASSWORD_HASH_METHOD)
    try:
        with explained_database_errors(config.DATABASE_URL):
            engine = make_engine(config.DATABASE_URL)
            try:
                _seed(engine, users, months, seed_, reset, skip_if_seeded, password_hash,
                      sessions_out is not None)
                if sessions_out is not None:
                    _sign_in(engine, users, config.REFRESH_TOKEN_TTL_S, sessions_out)
            finally:
                engine.dispose()
    except DatabaseUnavailable as error:
        raise click.ClickException(str(error)) from None


def _seed(engine, users, months, seed_, reset, skip_if_seeded, password_hash,
          signing_in: bool) -> None:
    from . import AlreadySeeded, seed_database
    try:
        with Progress(console=console, transient=True) as progress:
            stats = seed_database(engine, users=users, months=months, seed=seed_,
                                  reset=reset, password_hash=password_hash, progress=progress)
    except AlreadySeeded as exc:
        if skip_if_seeded:
            console.print(f"{exc}; " + ("not seeding" if signing_in else "nothing to do"))
            return
        raise click.ClickException(str(exc)) from None
    console.print("seeded: " + ", ".join(f"{k} {v}" for k, v in stats.items()))


def _sign_in(engine, users: int, ttl_s: int, path: Path) -> None:
    from .device_sessions import issue_sessions, write_sessions_file
    issued = issue_sessions(engine, users, ttl_s)
    try:
        write_sessions_file(path, issued)
    except OSError as error:
        raise click.ClickException(f"--sessions-out: cannot write {path}: "
                                   f"{error.strerror or error}") from None
    missing = f" (only {len(issued)} of user1..user{users} exist)" if len(issued) < users else ""
    console.print(f"sessions: {len(issued)} written to {path}{missing}", soft_wrap=True)


def _check_writable(folder: Path) -> None:
    """Refuse a --sessions-out folder that cannot be written before seeding anything."""
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise click.ClickException(f"--sessions-out: cannot write into {folder}/")
