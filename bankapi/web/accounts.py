"""Accounts: list, open a savings account, read one, its balance, top-ups, history."""
from apiflask import APIBlueprint
from flask import jsonify
from sqlalchemy import select

from ..domain import customers, ledger, status_history
from .auth import current_user_id, token_auth
from ..clock import naive_utc
from ..database.db import db
from .idempotency import idempotent
from ..models import Account, LedgerEntry
from .pagination import page
from .schemas import (AccountIn, AccountOut, AccountsOut, BalanceOut, TopupIn, TopupOut,
                      TransactionQuery, TransactionsOut)

bp = APIBlueprint("accounts", __name__, tag="Accounts")
# what AccountOut shows as `balance`: the ledger balance plus the pending payments' holds
SETTLED = (Account.__table__.c.balance + Account.__table__.c.held).label("settled_balance")


def _mine(account_id: str) -> Account:
    return ledger.owned_account(db.session, current_user_id(), account_id, "account_id")


@bp.get("/accounts")
@bp.auth_required(token_auth)
@bp.output(AccountsOut)
def list_accounts():
    """The signed-in user's accounts."""
    accounts = Account.__table__
    with db.reading() as connection:  # one statement, plain rows (a phone's every open)
        rows = connection.execute(select(accounts, SETTLED)
                                  .where(accounts.c.user_id == current_user_id())
                                  .order_by(accounts.c.created, accounts.c.id)).all()
    return {"accounts": rows}


@bp.post("/accounts")
@bp.auth_required(token_auth)
@bp.input(AccountIn)
@bp.output(AccountOut, status_code=201)
def open_account(json_data):
    """Open a savings account."""
    with db.write() as session:
        return customers.open_account(session, current_user_id(), **json_data)


@bp.get("/accounts/<account_id>")
@bp.auth_required(token_auth)
@bp.output(AccountOut)
def get_account(account_id):
    """One account."""
    return _mine(account_id)


@bp.get("/accounts/<account_id>/balance")
@bp.auth_required(token_auth)
@bp.output(BalanceOut)
def get_balance(account_id):
    """Balance and how much left the account today."""
    body = ledger.balance(db.first, current_user_id(), account_id, "account_id")
    # The hottest read: its four plain fields go out as they are (BalanceOut documents
    # them); a Response skips apiflask's output wrapper, about 5 % of the request's CPU.
    return jsonify(body)


@bp.post("/accounts/<account_id>/topup")
@bp.auth_required(token_auth)
@bp.input(TopupIn)
@bp.output(TopupOut, status_code=201)
@bp.doc(responses=[400, 404, 409, 422])
@idempotent("topup", TopupOut, movement_of=lambda answer: answer["transaction"]["movement_id"])
def topup(session, _funds, account_id, json_data):  # money in: no funds to guard
    """Add money from outside the bank. Needs an Idempotency-Key."""
    entry = ledger.topup(session, current_user_id(), account_id, json_data["amount"])
    return {"transaction": entry}


@bp.get("/accounts/<account_id>/transactions")
@bp.auth_required(token_auth)
@bp.input(TransactionQuery, location="query")
@bp.output(TransactionsOut)
def list_transactions(account_id, query_data):
    """The account's transactions, newest first, with cursor pagination and filters."""
    entries = LedgerEntry.__table__
    stmt = select(entries).where(entries.c.account_id == account_id)
    if "since" in query_data:
        stmt = stmt.where(entries.c.created >= naive_utc(query_data["since"]))
    if "category" in query_data:
        stmt = stmt.where(entries.c.category == query_data["category"])
    before = naive_utc(query_data["before"]) if "before" in query_data else None
    connection = db.session.connection()  # the owner check and the page: one snapshot
    ledger.check_owner(connection, current_user_id(), account_id, "account_id")
    rows, next_cursor = page(connection, stmt, entries, query_data["limit"],
                             query_data.get("cursor"), before)
    return {"transactions": status_history.with_history(connection, rows),
            "next_cursor": next_cursor}
