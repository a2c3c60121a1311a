"""The ledger service: the only code that writes ledger entries or changes balances.

Every movement writes entries that sum to zero. Money entering the bank (top-ups)
comes from the `external` system account; a card payment is authorised into the `holds`
system account (pending) and the settlement worker later moves it on to `merchants`, or
back to the customer (`settlement.py`). So the sum of all entries is always zero and each
balance equals the sum of its entries (`bankapi.domain.audit` checks both). A customer
account's `held` is the sum of its pending payments: the money already in `holds`.

Functions take a session inside a write transaction (`db.write()`) and never
commit; they refuse with `errors` (a decline is `Declined`, stored with the
Idempotency-Key like a success). Whether an account may pay is the funds guard's
answer (`funds`): the real guard reads the locked balance. Accounts are locked in
sorted id order (system ids sort last: `lock_accounts` takes the customers' rows, the balance
update the system account's), so two transfers between the same accounts in opposite
directions cannot deadlock on PostgreSQL; on SQLite the transaction already holds the
write lock.
"""
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..database.driver import DriverQuery
from ..ids import new_id
from ..models import Account, LedgerEntry, Payment, Transfer, User
from . import budgeting, magic, outbox, status_history
from .errors import Declined, Invalid, NotFound, Unprocessable
from .funds import LOCKED, FundsGuard
from . import notifications as texts
from .notifications import note, notify, pounds


# A ledger entry's kind: what moved the money (docs/reference.md, HTTP API). The last three
# are a card payment's later steps (`settlement.py`): holds to merchants, a declined
# payment's hold given back, a returned payment's money given back.
KINDS = ("topup", "card_payment", "transfer_in", "transfer_out", "card_settlement",
         "card_release", "card_return")
SYSTEM_ROLES = ("external", "holds", "merchants")


def system_account_id(role: str, currency: str) -> str:
    return f"acc_sys_{role}_{currency.lower()}"


def ensure_system_accounts(session: Session, currency: str = "GBP") -> None:
    for role in SYSTEM_ROLES:
        account_id = system_account_id(role, currency)
        if session.get(Account, account_id) is None:
            session.add(Account(id=account_id, user_id=None, type="system", name=role,
                                currency=currency, balance=0, created=utcnow()))
    session.flush()


def owned_account(session: Session, user_id: str, account_id: str, field: str) -> Account:
    """The user's account, or 404: another user's account looks like no account."""
    return _owned(session.get(Account, account_id), user_id, account_id, field)


# The write path speaks SQLAlchemy Core on the session's connection (in the caller's
# transaction): no ORM objects, no unit-of-work flush, statements built once so their
# compiled form is reused. A movement is the same few statements whatever its size.
ACCOUNTS, ENTRIES, USERS = Account.__table__, LedgerEntry.__table__, User.__table__
# The ledger balance of a locked customer row is what it may spend: `available`.
LOCK = (select(ACCOUNTS.c.id, ACCOUNTS.c.user_id, ACCOUNTS.c.currency,
               ACCOUNTS.c.balance.label("available"))
        .where(ACCOUNTS.c.id.in_(bindparam("ids", expanding=True)))
        .order_by(ACCOUNTS.c.id).with_for_update())
BY_EMAIL = (select(ACCOUNTS.c.id).join(USERS, USERS.c.id == ACCOUNTS.c.user_id)
            .where(USERS.c.email == bindparam("email"), ACCOUNTS.c.type == "current"))
OWNER = select(ACCOUNTS.c.user_id).where(ACCOUNTS.c.id == bindparam("account_id"))
CREDIT = (update(ACCOUNTS).where(ACCOUNTS.c.id == bindparam("account"))
          .values(balance=ACCOUNTS.c.balance + bindparam("delta")))
HOLD = (update(ACCOUNTS).where(ACCOUNTS.c.id == bindparam("account"))
        .values(held=ACCOUNTS.c.held + bindparam("delta")))
ENTRY, PAYMENT, TRANSFER = insert(ENTRIES), insert(Payment.__table__), insert(Transfer.__table__)


def lock_accounts(connection: Connection, *account_ids: str) -> dict[str, Row]:
    """The accounts' rows (id, user_id, currency, balance), locked in sorted id order
    (a None id, an unknown destination, is left out).

    Only customer accounts are locked here; a movement's system account (whose id sorts
    after every customer's) is locked by its balance update in `post_movement`, so every
    transaction takes its locks customer rows first, in sorted order, and none can wait
    for another in a cycle."""
    rows = connection.execute(LOCK, {"ids": sorted(set(account_ids) - {None})})
    return {row.id: row for row in rows}


def _insufficient(account: Row) -> Declined:
    return Declined(f"available balance is {pounds(account.available)}",
                    code="insufficient_funds")


def leg(account_id, amount, currency, kind, description, counterparty, *, category=None,
         merchant=None, status="completed") -> dict:
    return {"account_id": account_id, "amount": amount, "currency": currency, "kind": kind,
            "description": description, "category": category, "merchant": merchant,
            "counterparty_account_id": counterparty, "status": status}


def post_movement(connection: Connection, movement_id: str, created, *legs: dict) -> list[dict]:
    """Write a movement's entries and apply them to the balances: two statements (each
    an executemany), the balances updated in sorted id order (see `lock_accounts`)."""
    entries = [{"id": new_id("tx"), "movement_id": movement_id, "created": created, **leg}
               for leg in legs]
    connection.execute(CREDIT, sorted(({"account": entry["account_id"], "delta": entry["amount"]}
                                       for entry in entries), key=lambda move: move["account"]))
    connection.execute(ENTRY, entries)
    return entries


def _owned(account, user_id: str, account_id: str, field: str):
    """`account` (an Account or a row with its user_id) if it is the user's, else 404:
    another user's account looks like no account. The one place that rule lives."""
    if account is None or account.user_id != user_id:
        raise NotFound(f"no account {account_id}", field)
    return account


def topup(session: Session, user_id: str, account_id: str, amount: int) -> dict:
    """Money in from outside the bank (a card top-up). Returns the customer's entry's
    row (its columns, as a dict)."""
    connection = session.connection()
    account = _owned(lock_accounts(connection, account_id).get(account_id), user_id, account_id,
                     "account_id")
    external = system_account_id("external", account.currency)
    now, movement = utcnow(), new_id("top")
    _, entry = post_movement(connection, movement, now,
                     leg(external, -amount, account.currency, "topup", "Top-up", account.id),
                     leg(account.id, amount, account.currency, "topup", "Top-up", external))
    notify(connection, note(user_id, texts.topped_up(amount)))
    outbox.announce(connection, user_id, entry, account.available)
    return entry


def _destination(connection: Connection, to_account_id: str | None,
                 to_email: str | None) -> str | None:
    """The id of the account the money goes to, None for an unknown email (checked, with
    the source, once both are locked)."""
    if not to_email:
        return to_account_id
    return connection.scalar(BY_EMAIL, {"email": to_email.lower()})


def transfer(session: Session, user_id: str, from_account_id: str, amount: int, currency: str,
             reference: str = "", to_account_id: str | None = None,
             to_email: str | None = None, funds: FundsGuard = LOCKED) -> dict:
    """Move money between two customer accounts; 422 `insufficient_funds` moves nothing.
    Returns the transfer's row (its columns, as a dict).

    Both accounts are locked before they are checked: one statement instead of a read of
    each and then the lock. A refused request rolls back, so what it locked is let go."""
    connection = session.connection()
    target_id = _destination(connection, to_account_id, to_email)
    locked = lock_accounts(connection, from_account_id, target_id)
    source = _owned(locked.get(from_account_id), user_id, from_account_id, "from_account_id")
    if target_id is None:
        raise NotFound("no customer with that email", "to_email")
    target = locked.get(target_id)
    if target is None or target.user_id is None:
        raise NotFound(f"no account {to_account_id}", "to_account_id")
    if target.id == source.id:
        raise Invalid("cannot transfer to the same account", "to_account_id")
    if currency != source.currency or currency != target.currency:
        raise Unprocessable(f"both accounts hold {source.currency}; got {currency}",
                            "currency", code="currency_mismatch")
    if not funds.sufficient(source, amount):
        raise _insufficient(source)
    now, movement = utcnow(), new_id("tfr")
    text = reference or "Transfer"
    sent, received = post_movement(
        connection, movement, now,
        leg(source.id, -amount, currency, "transfer_out", text, target.id),
        leg(target.id, amount, currency, "transfer_in", text, source.id))
    row = {"id": movement, "user_id": user_id, "from_account_id": source.id,
           "to_account_id": target.id, "amount": amount, "currency": currency,
           "reference": reference, "status": "completed", "created": now}
    connection.execute(TRANSFER, row)
    notify(connection,
           note(user_id, texts.money_sent(amount, text)),
           note(target.user_id, texts.money_received(amount, text)))
    outbox.announce(connection, user_id, sent, source.available)
    outbox.announce(connection, target.user_id, received, target.available)
    return row


def pay(session: Session, user_id: str, account_id: str, amount: int, merchant: str,
        category: str, reference: str = "", funds: FundsGuard = LOCKED,
        settle_after_s: float = 5) -> dict:
    """A card payment to a merchant, authorised now and settled later: the money moves to
    the `holds` account (`pending`, counted in the account's `held`) and the settlement
    worker moves it on once `settle_after_s` have passed on the bank's clock
    (`settlement.py`; a magic reference plans another outcome, `magic.py`). A decline for
    want of funds is notified and moves nothing. Returns the payment's row (a dict)."""
    connection = session.connection()
    account = _owned(lock_accounts(connection, account_id).get(account_id), user_id, account_id,
                     "account_id")
    if not funds.sufficient(account, amount):
        notify(connection, note(user_id, texts.payment_declined(amount, merchant)))
        raise _insufficient(account)
    now, movement = utcnow(), new_id("pay")
    holds, currency = system_account_id("holds", account.currency), account.currency
    paid, _ = post_movement(connection, movement, now,
          leg(account.id, -amount, currency, "card_payment", merchant, holds,
               category=category, merchant=merchant, status="pending"),
          leg(holds, amount, currency, "card_payment", merchant, account.id,
               category=category, merchant=merchant, status="pending"))
    connection.execute(HOLD, {"account": account.id, "delta": amount})
    plan = magic.plan(reference)
    row = {"id": movement, "user_id": user_id, "account_id": account.id, "amount": amount,
           "currency": currency, "merchant": merchant, "category": category,
           "status": "pending", "created": now, "reference": reference,
           "outcome": plan.outcome, "return_code": None,
           "due_at": now + timedelta(seconds=settle_after_s * plan.delay_factor)}
    connection.execute(PAYMENT, row)
    status_history.record(connection, movement, "pending", now)
    notify(connection, note(user_id, texts.card_payment(amount, merchant)))
    budgeting.record_spend(connection, user_id, category, amount, now)
    outbox.announce(connection, user_id, paid, account.available)
    return row


def _balance_query():
    accounts, entries = Account.__table__.c, LedgerEntry.__table__.c
    spent = (select(func.coalesce(func.sum(entries.amount), 0))
             .where(entries.account_id == accounts.id, entries.amount < 0,
                    entries.created >= bindparam("midnight")).scalar_subquery())
    return (select(accounts.id, accounts.user_id, accounts.balance, accounts.held,
                   accounts.currency, spent)
            .where(accounts.id == bindparam("account_id")))


# The hottest read: compiled once per dialect and run on the driver's cursor (`driver.py`).
BALANCE_QUERY = DriverQuery(_balance_query())


def balance(first: Callable[[DriverQuery, dict], tuple | None], user_id: str,
            account_id: str, field: str) -> dict:
    """The account's balance (settled), what it may spend (`available`: the balance less
    its pending payments) and the money that left it since midnight UTC (a positive
    number), in one query that `first` runs on its own (the web layer's `db.first`: no
    transaction around it, on SQLite straight on the driver); 404 for another user's
    account."""
    midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    row = first(BALANCE_QUERY, {"account_id": account_id, "midnight": midnight})
    if row is None or row[1] != user_id:
        raise NotFound(f"no account {account_id}", field)
    account_id, _owner, ledger_balance, held, currency, spent = row
    return {"account_id": account_id, "balance": ledger_balance + held,
            "available": ledger_balance, "currency": currency, "spend_today": -int(spent)}


def check_owner(connection: Connection, user_id: str, account_id: str, field: str) -> None:
    """`owned_account` for a read that needs no Account object: one column, no lock."""
    _owned(connection.execute(OWNER, {"account_id": account_id}).first(), user_id,
           account_id, field)


def transaction(session: Session, user_id: str, entry_id: str) -> LedgerEntry:
    """One of the user's ledger entries; another user's looks like none."""
    entry = session.get(LedgerEntry, entry_id)
    if entry is None or session.get(Account, entry.account_id).user_id != user_id:
        raise NotFound(f"no transaction {entry_id}", "tx_id")
    return entry
