"""Bulk history: movements that were already decided, written a million rows at a time.

Seeding writes about a million ledger entries. The online ledger (`ledger`) adds one
movement at a time through the ORM, tens of microseconds a row, so history takes this
path instead: named rows written with the driver's fastest bulk path (sqlite3
`executemany`, PostgreSQL `COPY`), keeping the invariants the audit checks: every
movement sums to zero, every balance is the sum of its entries, and MonthlySpend is
the customers' card spending. It cannot check overdrafts: the caller must replay the
movements in time order and drop those that would overdraw (`seed.simulate` does).
"""
from collections import defaultdict
from datetime import datetime
from itertools import islice
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Account

BULK_CHUNK_ROWS = 50_000


class EntryRow(NamedTuple):
    """One ledger entry (a `transactions` row). `created` is a naive UTC datetime or,
    to spare a million conversions, the text SQLAlchemy stores for one,
    "YYYY-MM-DD HH:MM:SS.ffffff" (microseconds included, so text comparisons agree)."""

    id: str
    account_id: str
    movement_id: str
    amount: int
    currency: str
    kind: str
    description: str
    category: str | None
    merchant: str | None
    counterparty_account_id: str | None
    created: datetime | str
    status: str = "completed"  # a seeded card payment is history: `settled`


class TransferRow(NamedTuple):
    """One `transfers` row, the movement behind a transfer_out/transfer_in pair."""

    id: str
    user_id: str
    from_account_id: str
    to_account_id: str
    amount: int
    currency: str
    reference: str
    status: str
    created: datetime | str


def post_history(session: Session, entries: list[EntryRow],
                 transfers: list[TransferRow] = (), on_rows=None) -> None:
    """Write `entries` and `transfers` inside the caller's transaction; never commits.

    All the entries of a movement must come in the same call. Raises ValueError if any
    movement does not sum to zero in whole pence; the caller's transaction must then roll
    back (the check runs in the same pass that writes, to read a million rows once).
    Balances grow by the sum of their entries and MonthlySpend by the customers' card
    payments, so both agree with the entries by construction. `on_rows(n)` is called as
    entry rows are written, for a progress bar.
    """
    owners = dict(session.execute(select(Account.id, Account.user_id)
                                  .where(Account.user_id.is_not(None))).all())
    totals = _HistoryTotals(owners)
    connection = session.connection()
    raw = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        _copy(raw, "transactions", EntryRow._fields, totals.scan(entries), on_rows)
        totals.check()
        _copy(raw, "transfers", TransferRow._fields, transfers)
        _merge_postgres(raw, totals)
    else:
        _insert_sqlite(raw, "transactions", EntryRow._fields, totals.scan(entries), on_rows)
        totals.check()
        _insert_sqlite(raw, "transfers", TransferRow._fields, transfers)
        _merge_sqlite(raw, totals)
    session.expire_all()  # balances changed underneath the ORM


def _as_text(moment) -> str:
    return moment if type(moment) is str else moment.isoformat(" ", "microseconds")


class _HistoryTotals:
    """Sums taken while the entries stream to the database: per movement (must be zero),
    per account (the balance change) and per user, month and category (card spending)."""

    def __init__(self, owners: dict[str, str]):
        self.owners = owners
        self.movements, self.deltas = defaultdict(int), defaultdict(int)
        self.spent, self.count = defaultdict(int), defaultdict(int)

    def scan(self, entries):
        movements, deltas, spent, count, owners = (self.movements, self.deltas, self.spent,
                                                   self.count, self.owners)
        for entry in entries:
            movements[entry.movement_id] += entry.amount
            deltas[entry.account_id] += entry.amount
            if entry.kind == "card_payment":
                user = owners.get(entry.account_id)
                if user is not None:
                    created = entry.created
                    month = created[:7] if type(created) is str else f"{created:%Y-%m}"
                    spent[user, month, entry.category] -= entry.amount
                    count[user, month, entry.category] += 1
            yield entry

    def check(self) -> None:
        # a float amount anywhere makes its movement's total a float: money is whole pence
        unbalanced = [m for m, total in self.movements.items() if total or type(total) is not int]
        if unbalanced:
            raise ValueError(f"{len(unbalanced)} movements do not sum to zero in whole pence,"
                             f" e.g. {unbalanced[:3]}")

    def balance_changes(self) -> list[tuple[str, int]]:
        return [(account, delta) for account, delta in self.deltas.items() if delta]

    def spending(self) -> list[tuple[str, str, str, int, int]]:
        """(user_id, month, category, spent, count), in key order for sequential writes."""
        return sorted((*key, spent, self.count[key]) for key, spent in self.spent.items())


def _insert_sqlite(raw, table, columns, rows, on_rows=None) -> None:
    # SQLAlchemy stores SQLite datetimes as "YYYY-MM-DD HH:MM:SS.ffffff"; write the same text
    # so that range queries compare like with like.
    at = columns.index("created")
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    rows = iter(rows)
    while chunk := list(islice(rows, BULK_CHUNK_ROWS)):
        raw.executemany(sql, [row if type(row[at]) is str
                              else (*row[:at], _as_text(row[at]), *row[at + 1:])
                              for row in chunk])
        if on_rows:
            on_rows(len(chunk))


def _merge_sqlite(raw, totals: _HistoryTotals) -> None:
    raw.executemany("UPDATE accounts SET balance = balance + ? WHERE id = ?",
                    [(delta, account) for account, delta in totals.balance_changes()])
    raw.executemany(
        "INSERT INTO monthly_spend (user_id, month, category, spent, count) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (user_id, month, category) DO UPDATE"
        " SET spent = spent + excluded.spent, count = count + excluded.count",
        totals.spending())


def _copy(raw, table, columns, rows, on_rows=None) -> None:
    done = 0
    with raw.cursor() as cursor, \
            cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for done, row in enumerate(rows, 1):
            copy.write_row(row)
            if on_rows and done % BULK_CHUNK_ROWS == 0:
                on_rows(BULK_CHUNK_ROWS)
    if on_rows and done % BULK_CHUNK_ROWS:
        on_rows(done % BULK_CHUNK_ROWS)


SPEND_COLUMNS = ("user_id", "month", "category", "spent", "count")


def _merge_postgres(raw, totals: _HistoryTotals) -> None:
    """COPY the totals into temporary tables, then apply them in two set-based statements.
    An empty monthly_spend (a fresh seed) takes its rows by COPY directly: half a million
    ON CONFLICT inserts from a temporary table cost three times as much."""
    with raw.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS pg_temp.banksim_deltas, pg_temp.banksim_spend")
        cursor.execute("CREATE TEMP TABLE banksim_deltas (id varchar(40), delta bigint)"
                       " ON COMMIT DROP")
        fresh = cursor.execute("SELECT 1 FROM monthly_spend LIMIT 1").fetchone() is None
    _copy(raw, "banksim_deltas", ("id", "delta"), totals.balance_changes())
    with raw.cursor() as cursor:
        cursor.execute("UPDATE accounts SET balance = accounts.balance + d.delta"
                       " FROM banksim_deltas d WHERE accounts.id = d.id")
    if fresh:
        _copy(raw, "monthly_spend", SPEND_COLUMNS, totals.spending())
        return
    with raw.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE banksim_spend (LIKE monthly_spend) ON COMMIT DROP")
    _copy(raw, "banksim_spend", SPEND_COLUMNS, totals.spending())
    with raw.cursor() as cursor:
        cursor.execute(
            "INSERT INTO monthly_spend (user_id, month, category, spent, count)"
            " SELECT user_id, month, category, spent, count FROM banksim_spend"
            " ON CONFLICT (user_id, month, category) DO UPDATE"
            " SET spent = monthly_spend.spent + excluded.spent,"
            " count = monthly_spend.count + excluded.count")
