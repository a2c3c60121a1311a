"""One transaction by id (lists live under /accounts/{id}/transactions)."""
from apiflask import APIBlueprint

from .auth import current_user_id, token_auth
from ..database.db import db
from ..domain import ledger, status_history
from .schemas import TransactionOut

bp = APIBlueprint("transactions", __name__, tag="Transactions")


@bp.get("/transactions/<tx_id>")
@bp.auth_required(token_auth)
@bp.output(TransactionOut)
def get_transaction(tx_id):
    """One of the user's transactions."""
    entry = ledger.transaction(db.session, current_user_id(), tx_id)
    return status_history.with_history(db.session.connection(), [entry])[0]
