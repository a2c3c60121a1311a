"""The ledger service: the only code that writes ledger entries or changes balances.

Every movement writes entries that sum to zero. Money entering the bank (top-ups)
comes from the `external` system account and card payments go to the `merchants`
system account, so the sum of all entries is always zero and each balance equals
the sum of its entries (`bankapi.domain.audit` checks both).

Functions take a session inside a write transaction (`db.write()`) and never
commit; they refuse with `errors` (a decline is `Declined`, stored with the
Idempotency-Key like a success). Whether an account may pay is the funds guard's
answer (`funds`): the real guard reads the locked balance. Accounts are locked in
sorted id order (system ids sort last), so two transfers between the same accounts
in opposite directions cannot deadlock on PostgreSQL; on SQLite the transaction
already holds the write lock.
"""
from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..ids import new_id
from ..models import Account, LedgerEntry, Payment, Transfer, User
from . import budgeting
from .errors import Declined, Invalid, NotFound, Unprocessable
from .funds import LOCKED, FundsGuard
from .notify import notify, pounds


# A ledger entry's kind: what moved the money (SPEC section 3).
KINDS = ("topup", "card_payment", "transfer_in", "transfer_out")


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
        raise NotFound(f"no account {account_id}", field)
    return account


def _lock(session: Session, *account_ids: str) -> dict[str, Account]:
    rows = session.scalars(select(Account).where(Account.id.in_(sorted(set(account_ids))))
                           .order_by(Account.id).with_for_update()
                           .execution_options(populate_existing=True))
    return {account.id: account for account in rows}


def _insufficient(account: Account) -> Declined:
    return Declined(f"available balance is {pounds(account.balance)}",
                    code="insufficient_funds")


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
            raise NotFound("no customer with that email", "to_email")
        return account
    account = session.get(Account, to_account_id)
    if account is None or account.user_id is None:
        raise NotFound(f"no account {to_account_id}", "to_account_id")
    return account


def transfer(session: Session, user_id: str, from_account_id: str, amount: int, currency: str,
             reference: str = "", to_account_id: str | None = None,
             to_email: str | None = None, funds: FundsGuard = LOCKED) -> Transfer:
    """Move money between two customer accounts; 422 `insufficient_funds` moves nothing."""
    source = owned_account(session, user_id, from_account_id, "from_account_id")
    target = _destination(session, to_account_id, to_email)
    if target.id == source.id:
        raise Invalid("cannot transfer to the same account", "to_account_id")
    if currency != source.currency or currency != target.currency:
        raise Unprocessable(f"both accounts hold {source.currency}; got {currency}",
                            "currency", code="currency_mismatch")
    locked = _lock(session, source.id, target.id)
    source, target = locked[source.id], locked[target.id]
    if not funds.sufficient(source, amount):
        raise _insufficient(source)
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
        category: str, funds: FundsGuard = LOCKED) -> Payment:
    """A card payment to a merchant; a decline is notified and moves nothing."""
    account = owned_account(session, user_id, account_id, "account_id")
    merchants = system_account_id("merchants", account.currency)
    locked = _lock(session, account.id, merchants)
    account = locked[account.id]
    if not funds.sufficient(account, amount):
        notify(session, user_id, "payment_declined", "Payment declined",
               f"{pounds(amount)} at {merchant} was declined: insufficient funds")
        raise _insufficient(account)
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


def balance(connection: Connection, user_id: str, account_id: str, field: str) -> dict:
    """The account's balance and the money that left it since midnight UTC (a positive
    number), in one Core query, so it needs no transaction around it (`db.reading()`);
    404 for another user's account."""
    midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    row = connection.execute(
        BALANCE_QUERY, {"account_id": account_id, "midnight": midnight}).first()
    if row is None or row.user_id != user_id:
        raise NotFound(f"no account {account_id}", field)
    return {"account_id": row.id, "balance": row.balance, "currency": row.currency,
            "spend_today": -int(row[4])}


OWNER_QUERY = select(Account.__table__.c.user_id).where(
    Account.__table__.c.id == bindparam("account_id"))


def check_owner(connection: Connection, user_id: str, account_id: str, field: str) -> None:
    """404 unless the account is the user's (another user's account looks like no
    account): `owned_account` for a read that needs no Account object."""
    if connection.scalar(OWNER_QUERY, {"account_id": account_id}) != user_id:
        raise NotFound(f"no account {account_id}", field)
