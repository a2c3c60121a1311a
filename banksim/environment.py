"""The environment variables banksim's commands share, each with its one default.

The bank's config, `banksim chaos` and `banksim release` (the admin API's address and
token), `banksim seed`, `incident`, `compare` and `loadtest`, and the phones all read these
names; a default written twice could drift. This module imports nothing of ours, so every
part may import it (`tests/test_architecture.py` allows exactly this one module of banksim/).
"""
import os

URL, DEFAULT_URL = "BANKSIM_URL", "http://127.0.0.1:8000"
ADMIN_TOKEN = "BANKSIM_ADMIN_TOKEN"  # no default: `banksim serve` makes one up and prints it
SEED, DEFAULT_SEED = "BANKSIM_SEED", 42
DATABASE_URL, DEFAULT_DATABASE_URL = "BANKSIM_DATABASE_URL", "sqlite:///banksim.db"
USERS, DEFAULT_USERS = "BANKSIM_USERS", 100


def url() -> str:
    """The bank's address for a client command."""
    return os.environ.get(URL, DEFAULT_URL)


def admin_token() -> str:
    return os.environ.get(ADMIN_TOKEN, "")


def database_url() -> str | None:
    """The database a run was pointed at, or None (a run then makes its own SQLite file)."""
    return os.environ.get(DATABASE_URL)
