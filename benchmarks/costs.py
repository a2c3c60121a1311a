"""R9-R11: costs that should grow with the work, not faster.

    R9   `banksim audit` on the 10,000-user bank / seeding that bank (SQLite)
    R10   listing transactions on the 10,000-user bank / on a 100-user bank
    R11  seeding the 10,000-user bank on PostgreSQL / on SQLite

Every figure is a median of `repeat` runs taken in this process, one right after the
other, so the two sides of a ratio share whatever else the machine is doing.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

ROWS = {"R9", "R10", "R11"}
LIST_PAGES, PAGE_SIZE, SAMPLES = 10, 10, 60  # a year is ~100 entries an account


def _seed(url: str, users: int, months: int) -> float:
    """Seconds `seed.seed_database` took for a fresh bank at `url` (the CLI's code path,
    with the CLI's one password hash computed outside the timing)."""
    from werkzeug.security import generate_password_hash

    import seed
    from bankapi.database.db import make_engine
    engine = make_engine(url)
    try:
        began = time.perf_counter()
        seed.seed_database(engine, users=users, months=months, reset=True,
                           password_hash=generate_password_hash("banksim"))
        return time.perf_counter() - began
    finally:
        engine.dispose()


def _audit_seconds(url: str) -> float:
    """Wall time of the real `banksim audit` (a fresh process, as a user runs it)."""
    env = {**os.environ, "BANKSIM_DATABASE_URL": url}
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "banksim", "audit"], env=env, check=True,
                   capture_output=True)
    return time.perf_counter() - began


def r8_audit_vs_seed(tmp: str, users: int, months: int, repeat: int) -> dict:
    url = f"sqlite:///{tmp}/r8.db"
    seeds, audits = [], []
    for _ in range(repeat):
        seeds.append(_seed(url, users, months))
        audits.append(_audit_seconds(url))
    a, b = statistics.median(audits), statistics.median(seeds)
    return {"id": "R9", "measures": f"`banksim audit` / seeding, {users:,} users x {months} "
            f"months on SQLite (median of {repeat})", "a": f"{a:.1f} s", "b": f"{b:.1f} s",
            "ratio": a / b, "target": "<= 0.25"}


class _Lister:
    """One signed-in customer of a seeded bank, listing an account of about `entries`
    transactions through the app in-process (Flask's test client: no network noise)."""

    def __init__(self, url: str, entries: int | None):
        from bankapi import create_app
        from bankapi.database.db import db
        from bankapi.models import Account, LedgerEntry, User
        self.app = create_app({"DATABASE_URL": url, "ADMIN_TOKEN": "r9",
                               "CHAOS_ENABLED": False})
        with self.app.app_context():
            counts = (select(LedgerEntry.account_id, func.count().label("n"))
                      .group_by(LedgerEntry.account_id).subquery())
            closest = (func.abs(counts.c.n - entries) if entries else -counts.c.n)
            self.account, self.entries, email = db.session.execute(
                select(Account.id, counts.c.n, User.email)
                .join(counts, counts.c.account_id == Account.id)
                .join(User, User.id == Account.user_id)
                .order_by(closest, Account.id).limit(1)).one()
            self.category = db.session.scalar(
                select(LedgerEntry.category).where(LedgerEntry.account_id == self.account,
                                                   LedgerEntry.category.is_not(None))
                .group_by(LedgerEntry.category).order_by(func.count().desc()).limit(1))
        self.client = self.app.test_client()
        token = self.client.post("/auth/login", json={"email": email, "password": "banksim"}
                                 ).json["access_token"]
        self.headers = {"Authorization": f"Bearer {token}"}

    def page_ms(self, page: int, query: str = "") -> float:
        """Milliseconds for page number `page` (1 = newest), reached by its cursors."""
        url, cursor = f"/accounts/{self.account}/transactions?limit={PAGE_SIZE}{query}", ""
        for _ in range(page - 1):
            next_cursor = self.client.get(url + cursor, headers=self.headers).json["next_cursor"]
            assert next_cursor, f"{self.account} has fewer than {page} pages of {query}"
            cursor = "&cursor=" + next_cursor
        began = time.perf_counter()
        response = self.client.get(url + cursor, headers=self.headers)
        elapsed = (time.perf_counter() - began) * 1000
        assert response.status_code == 200 and response.json["transactions"], response.json
        return elapsed


def r9_listing(tmp: str, big_url: str | None, users: int, months: int) -> list[dict]:
    small_url, rows = f"sqlite:///{tmp}/r9-small.db", []
    _seed(small_url, 100, months)
    if big_url is None:
        big_url = f"sqlite:///{tmp}/r9-big.db"
        _seed(big_url, users, months)
    small = _Lister(small_url, None)
    big = _Lister(big_url, small.entries)
    cases = ((1, False, "first page"), (LIST_PAGES, False, f"page {LIST_PAGES}"),
             (2, True, "page 2 of the account's commonest category"))
    for page, category, label in cases:
        timings = {"big": [], "small": []}
        for _ in range(SAMPLES):  # interleaved
            for name, lister in (("big", big), ("small", small)):
                query = f"&category={lister.category}" if category else ""
                timings[name].append(lister.page_ms(page, query))
        a, b = statistics.median(timings["big"]), statistics.median(timings["small"])
        rows.append({"id": "R10", "measures": f"GET transactions ({PAGE_SIZE} a page), {label}: "
                     f"{users:,}-user bank ({big.entries} entries on the account) / 100-user "
                     f"bank ({small.entries}), SQLite", "a": f"{a:.2f} ms",
                     "b": f"{b:.2f} ms", "ratio": a / b, "target": "<= 1.2"})
    return rows


def r10_postgres_seed(tmp: str, postgres_url: str, users: int, months: int,
                      repeat: int) -> dict:
    sqlite_url, pg, lite = f"sqlite:///{tmp}/r10.db", [], []
    for _ in range(repeat):
        lite.append(_seed(sqlite_url, users, months))
        pg.append(_seed(postgres_url, users, months))
        Path(f"{tmp}/r10.db").unlink()
    a, b = statistics.median(pg), statistics.median(lite)
    return {"id": "R11", "measures": f"seeding {users:,} users x {months} months: PostgreSQL / "
            f"SQLite (median of {repeat}, interleaved)", "a": f"{a:.1f} s", "b": f"{b:.1f} s",
            "ratio": a / b, "target": "<= 1.5"}


def run(only: set[str], args) -> list[dict]:
    """The rows of R9-R11 that `only` names."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        if "R9" in only:
            rows.append(r8_audit_vs_seed(tmp, args.seed_users, args.seed_months, args.repeat))
        if "R10" in only:
            big = f"sqlite:///{tmp}/r8.db" if "R9" in only else None
            rows += r9_listing(tmp, big, args.seed_users, args.seed_months)
        if "R11" in only and args.postgres:
            rows.append(r10_postgres_seed(tmp, args.postgres, args.seed_users,
                                          args.seed_months, args.repeat))
    return rows
