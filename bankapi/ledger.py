"""The ledger service: the only code that writes ledger entries or changes balances.

Every movement writes entries that sum to zero. Money entering the bank (top-ups)
comes from the `external` system account and card payments go to the `merchants`
system account, so the sum of all entries is always zero and each balance equals
the sum of its entries (`bankapi.audit` checks both).

Functions take a session inside a write transaction (`db.write()`) and never
commit. Accounts are locked in sorted id order (system ids sort last), so two
transfers between the same accounts in opposite directions cannot deadlock on
PostgreSQL; on SQLite the transaction already holds the write lock.
"""
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from . import budgeting
from .clock import utcnow
from .errors import api_error
from .ids import new_id
from .models import Account, LedgerEntry, Payment, Transfer, User
from .notify import notify, pounds


class Declined(Exception):
    """A business refusal (422) that is a final answer and is stored with its key."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


# --- TEACHING MODE: UNSAFE_LEDGER ------------------------------------------------------
# BANKSIM_UNSAFE_LEDGER=1 deliberately breaks the ledger to show why the locks exist.
# `bankapi.idempotency` then runs a movement as check-then-act: the ledger function runs
# once with session.info[UNSAFE_PHASE] = "check" in a short transaction that holds no write
# lock and is rolled back as soon as the funds check passed (FundsChecked), then again with
# "act" in a separate write transaction that skips the check. Two concurrent requests can
# both pass the check against the same balance: overdrafts. Never set in production.
UNSAFE_PHASE = "banksim_unsafe_phase"
UNSAFE_RACE_S = 0.05  # pause between check and act in teaching mode, to widen the race


class FundsChecked(Exception):
    """Teaching mode only: the funds check passed in the "check" phase."""


def system_account_id(role: str, currency: str) -> str:
    return f"acc_sys_{role}_{currency.lower()}"


def ensure_system_accounts(session: Session, currency: str = "GBP") -> None:
    for role in ("external", "merchants"):
        account_id = system_account_id(role, currency)
        if session.get(Account, account_id) is None:
            session.add(Account(id=account_id, user_id=None, type="system", name=role,
                                currency=currency, balance=0, created=utcnow()))
    session.flush()


def owned_account(session: Session, user_id: str, account_id: str, field: str) -> Account:
    """The user's account, or 404: another user's account looks like no account."""
    account = session.get(Account, account_id)
    if account is None or account.user_id != user_id:
        raise api_error(404, "not_found", f"no account {account_id}", field)
    return account


def _lock(session: Session, *account_ids: str) -> dict[str, Account]:
    rows = session.scalars(select(Account).where(Account.id.in_(sorted(set(account_ids))))
                           .order_by(Account.id).with_for_update()
                           .execution_options(populate_existing=True))
    return {account.id: account for account in rows}


def _check_funds(session: Session, account: Account, amount: int, declined_note=None) -> None:
    """No overdraft: `account` is locked, so its balance cannot change before we commit.

    `declined_note` (user_id, type, title, body) is notified when the check fails.
    In teaching mode (UNSAFE_LEDGER, below) the check and the movement are split apart.
    """
    phase = session.info.get(UNSAFE_PHASE)
    if phase == "act":
        return  # UNSAFE: checked earlier, in another transaction, against a stale balance
    if account.balance < amount:
        if declined_note:
            notify(session, *declined_note)
        raise Declined("insufficient_funds", f"available balance is {pounds(account.balance)}")
    if phase == "check":
        raise FundsChecked()  # UNSAFE: stop here; the movement is written later


def _post(session, account, amount, kind, movement_id, created, description, *,
          category=None, merchant=None, counterparty=None) -> LedgerEntry:
    account.balance += amount
    entry = LedgerEntry(id=new_id("tx"), account_id=account.id, movement_id=movement_id,
                        amount=amount, currency=account.currency, kind=kind,
                        description=description, category=category, merchant=merchant,
                        counterparty_account_id=counterparty, created=created)
    session.add(entry)
    return entry


def topup(session: Session, user_id: str, account_id: str, amount: int) -> LedgerEntry:
    """Money in from outside the bank (a card top-up)."""
    account = owned_account(session, user_id, account_id, "account_id")
    external = system_account_id("external", account.currency)
    locked = _lock(session, account.id, external)
    now, movement = utcnow(), new_id("top")
    _post(session, locked[external], -amount, "topup", movement, now, "Top-up",
          counterparty=account.id)
    entry = _post(session, locked[account.id], amount, "topup", movement, now, "Top-up",
                  counterparty=external)
    notify(session, user_id, "money_in", "Money in", f"{pounds(amount)} topped up")
    return entry


def _destination(session: Session, to_account_id: str | None, to_email: str | None) -> Account:
    if to_email:
        account = session.scalar(select(Account).join(User, User.id == Account.user_id)
                                 .where(User.email == to_email.lower(),
                                        Account.type == "current"))
        if account is None:
            raise api_error(404, "not_found", "no customer with that email", "to_email")
        return account
    account = session.get(Account, to_account_id)
    if account is None or account.user_id is None:
        raise api_error(404, "not_found", f"no account {to_account_id}", "to_account_id")
    return account


def transfer(session: Session, user_id: str, from_account_id: str, amount: int, currency: str,
             reference: str = "", to_account_id: str | None = None,
             to_email: str | None = None) -> Transfer:
    """Move money between two customer accounts; 422 `insufficient_funds` moves nothing."""
    source = owned_account(session, user_id, from_account_id, "from_account_id")
    target = _destination(session, to_account_id, to_email)
    if target.id == source.id:
        raise api_error(400, "validation_error", "cannot transfer to the same account",
                        "to_account_id")
    if currency != source.currency or currency != target.currency:
        raise api_error(422, "currency_mismatch",
                        f"both accounts hold {source.currency}; got {currency}", "currency")
    locked = _lock(session, source.id, target.id)
    source, target = locked[source.id], locked[target.id]
    _check_funds(session, source, amount)
    now, movement = utcnow(), new_id("tfr")
    text = reference or "Transfer"
    _post(session, source, -amount, "transfer_out", movement, now, text, counterparty=target.id)
    _post(session, target, amount, "transfer_in", movement, now, text, counterparty=source.id)
    row = Transfer(id=movement, user_id=user_id, from_account_id=source.id,
                   to_account_id=target.id, amount=amount, currency=currency,
                   reference=reference, status="completed", created=now)
    session.add(row)
    notify(session, user_id, "money_out", "Money sent", f"{pounds(amount)} sent: {text}")
    notify(session, target.user_id, "money_in", "Money in", f"{pounds(amount)} received: {text}")
    return row


def pay(session: Session, user_id: str, account_id: str, amount: int, merchant: str,
        category: str) -> Payment:
    """A card payment to a merchant; a decline is notified and moves nothing."""
    account = owned_account(session, user_id, account_id, "account_id")
    merchants = system_account_id("merchants", account.currency)
    locked = _lock(session, account.id, merchants)
    account = locked[account.id]
    _check_funds(session, account, amount, declined_note=(
        user_id, "payment_declined", "Payment declined",
        f"{pounds(amount)} at {merchant} was declined: insufficient funds"))
    now, movement = utcnow(), new_id("pay")
    _post(session, account, -amount, "card_payment", movement, now, merchant,
          category=category, merchant=merchant, counterparty=merchants)
    _post(session, locked[merchants], amount, "card_payment", movement, now, merchant,
          category=category, merchant=merchant, counterparty=account.id)
    row = Payment(id=movement, user_id=user_id, account_id=account.id, amount=amount,
                  currency=account.currency, merchant=merchant, category=category,
                  status="completed", created=now)
    session.add(row)
    notify(session, user_id, "money_out", "Card payment", f"{pounds(amount)} at {merchant}")
    budgeting.record_spend(session, user_id, category, amount, now)
    return row


def _balance_query():
    accounts, entries = Account.__table__.c, LedgerEntry.__table__.c
    spent = (select(func.coalesce(func.sum(entries.amount), 0))
             .where(entries.account_id == accounts.id, entries.amount < 0,
                    entries.created >= bindparam("midnight")).scalar_subquery())
    return (select(accounts.id, accounts.user_id, accounts.balance, accounts.currency, spent)
            .where(accounts.id == bindparam("account_id")))


# Built once: SQLAlchemy then reuses its cache key and compiled form on every call, which
# on this endpoint (the hottest read) costs about a third of building the query anew.
BALANCE_QUERY = _balance_query()


def balance(session: Session, user_id: str, account_id: str, field: str) -> dict:
    """The account's balance and the money that left it since midnight UTC (a positive
    number), in one Core query; 404 for another user's account."""
    midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    row = session.connection().execute(
        BALANCE_QUERY, {"account_id": account_id, "midnight": midnight}).first()
    if row is None or row.user_id != user_id:
        raise api_error(404, "not_found", f"no account {account_id}", field)
    return {"account_id": row.id, "balance": row.balance, "currency": row.currency,
            "spend_today": -int(row[4])}


# --- Bulk history -------------------------------------------------------------------------
# Seeding writes about a million entries. The functions above add one movement at a time
# through the ORM (tens of microseconds a row), so history takes this path instead: plain
# tuples written with the driver's fastest bulk path (sqlite3 `executemany`, PostgreSQL
# `COPY`), keeping the same invariants the audit checks.

ENTRY_COLUMNS = ("id", "account_id", "movement_id", "amount", "currency", "kind",
                 "description", "category", "merchant", "counterparty_account_id", "created")
TRANSFER_COLUMNS = ("id", "user_id", "from_account_id", "to_account_id", "amount", "currency",
                    "reference", "status", "created")
BULK_CHUNK_ROWS = 50_000


def post_history(session: Session, entries: list[tuple], transfers: list[tuple] = (),
                 on_rows=None) -> None:
    """Write movements that were already decided, in bulk, inside the caller's transaction.

    `entries` are tuples in ENTRY_COLUMNS order, `transfers` in TRANSFER_COLUMNS order; all
    the entries of a movement must come in the same call. `created` (the last field) is a
    naive UTC datetime or, to spare a million conversions, the text SQLAlchemy stores for
    one, "YYYY-MM-DD HH:MM:SS.ffffff" (microseconds included, so text comparisons agree).
    Raises ValueError if any movement does not sum to zero; the caller's transaction must
    then roll back (the check runs in the same pass that writes, to read a million rows
    once). Account balances grow by the sum of their entries and MonthlySpend by the
    customers' card payments, so balances and budgets agree with the entries by
    construction. It cannot check overdrafts: the caller must have replayed the movements
    in time order and dropped those that would overdraw (`seed.simulate` does).
    `on_rows(n)` is called as entry rows are written, for a progress bar. Never commits.
    """
    owners = dict(session.execute(select(Account.id, Account.user_id)
                                  .where(Account.user_id.is_not(None))).all())
    totals = _HistoryTotals(owners)
    connection = session.connection()
    raw = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        _copy(raw, "transactions", ENTRY_COLUMNS, totals.scan(entries), on_rows)
        totals.check()
        _copy(raw, "transfers", TRANSFER_COLUMNS, transfers)
        _merge_postgres(raw, totals)
    else:
        _insert_sqlite(raw, "transactions", ENTRY_COLUMNS, totals.scan(entries), on_rows)
        totals.check()
        _insert_sqlite(raw, "transfers", TRANSFER_COLUMNS, transfers)
        _merge_sqlite(raw, totals)
    session.expire_all()  # balances changed underneath the ORM


def _as_text(moment) -> str:
    return moment if type(moment) is str else moment.isoformat(" ", "microseconds")


class _HistoryTotals:
    """Sums taken while the entries stream to the database: per movement (must be zero),
    per account (the balance change) and per user, month and category (card spending)."""

    def __init__(self, owners: dict[str, str]):
        from collections import (
            defaultdict,  # local: this section only appends to the module
        )
        self.owners = owners
        self.movements, self.deltas = defaultdict(int), defaultdict(int)
        self.spent, self.count = defaultdict(int), defaultdict(int)

    def scan(self, entries):
        movements, deltas, spent, count, owners = (self.movements, self.deltas, self.spent,
                                                   self.count, self.owners)
        for entry in entries:
            amount, account = entry[3], entry[1]
            movements[entry[2]] += amount
            deltas[account] += amount
            if entry[5] == "card_payment":
                user = owners.get(account)
                if user is not None:
                    created = entry[10]
                    month = created[:7] if type(created) is str else f"{created:%Y-%m}"
                    spent[user, month, entry[7]] -= amount
                    count[user, month, entry[7]] += 1
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
    from itertools import islice
    assert columns[-1] == "created"
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    rows = iter(rows)
    while chunk := list(islice(rows, BULK_CHUNK_ROWS)):
        raw.executemany(sql, [row if type(row[-1]) is str else (*row[:-1], _as_text(row[-1]))
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


def _merge_postgres(raw, totals: _HistoryTotals) -> None:
    """COPY the totals into temporary tables, then apply them in two set-based statements."""
    with raw.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS pg_temp.banksim_deltas, pg_temp.banksim_spend")
        cursor.execute("CREATE TEMP TABLE banksim_deltas (id varchar(40), delta bigint)"
                       " ON COMMIT DROP")
        cursor.execute("CREATE TEMP TABLE banksim_spend (LIKE monthly_spend) ON COMMIT DROP")
    _copy(raw, "banksim_deltas", ("id", "delta"), totals.balance_changes())
    _copy(raw, "banksim_spend", ("user_id", "month", "category", "spent", "count"),
          totals.spending())
    with raw.cursor() as cursor:
        cursor.execute("UPDATE accounts SET balance = accounts.balance + d.delta"
                       " FROM banksim_deltas d WHERE accounts.id = d.id")
        cursor.execute(
            "INSERT INTO monthly_spend (user_id, month, category, spent, count)"
            " SELECT user_id, month, category, spent, count FROM banksim_spend"
            " ON CONFLICT (user_id, month, category) DO UPDATE"
            " SET spent = monthly_spend.spent + excluded.spent,"
            " count = monthly_spend.count + excluded.count")
