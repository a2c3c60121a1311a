"""`banksim seed`, lent to the `banksim` command line by the seed package."""
import click
from rich.console import Console
from rich.progress import Progress

console = Console()


@click.command()
@click.option("--users", default=100, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--months", default=3, show_default=True, type=click.IntRange(1, 60))
@click.option("--seed", "seed_", envvar="BANKSIM_SEED", default=42, show_default=True, type=int)
@click.option("--reset", is_flag=True, help="drop the bank's data first")
@click.option("--skip-if-seeded", is_flag=True,
              help="exit 0 without seeding when the database already has customers "
                   "(for one-shot jobs that run on every start, e.g. docker compose)")
def seed(users, months, seed_, reset, skip_if_seeded):
    """Fill the database with deterministic Faker customers and their history.

    \b
    Database: BANKSIM_DATABASE_URL (default sqlite:///banksim.db, i.e. ./banksim.db),
    created if missing.
    """
    from werkzeug.security import generate_password_hash

    from bankapi.config import Config
    from bankapi.engine import DatabaseUnavailable, explained_database_errors, make_engine

    from . import AlreadySeeded, seed_database
    config = Config()
    password_hash = generate_password_hash("banksim", config.PASSWORD_HASH_METHOD)
    try:
        with explained_database_errors(config.DATABASE_URL):
            engine = make_engine(config.DATABASE_URL)
            try:
                with Progress(console=console, transient=True) as progress:
                    stats = seed_database(engine, users=users, months=months, seed=seed_,
                                          reset=reset, password_hash=password_hash,
                                          progress=progress)
            finally:
                engine.dispose()
    except DatabaseUnavailable as error:
        raise click.ClickException(str(error)) from None
    except AlreadySeeded as exc:
        if skip_if_seeded:
            console.print(f"{exc}; nothing to do")
            return
        raise click.ClickException(str(exc)) from None
    console.print("seeded: " + ", ".join(f"{k} {v}" for k, v in stats.items()))
