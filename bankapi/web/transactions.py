"""One transaction by id (lists live under /accounts/{id}/transactions)."""
from apiflask import APIBlueprint

from .auth import current_user_id, token_auth
from ..database.db import db
from ..domain import status_history
from .errors import api_error
from ..models import Account, LedgerEntry
from .schemas import TransactionOut

bp = APIBlueprint("transactions", __name__, tag="Transactions")


@bp.get("/transactions/<tx_id>")
@bp.auth_required(token_auth)
@bp.output(TransactionOut)
def get_transaction(tx_id):
    """One of the user's transactions."""
    entry = db.session.get(LedgerEntry, tx_id)
    owner = entry and db.session.get(Account, entry.account_id).user_id
    if owner != current_user_id():
        raise api_error(404, "not_found", f"no transaction {tx_id}", "tx_id")
    return status_history.with_history(db.session.connection(), [entry])[0]
