"""Transfers between customer accounts."""
from apiflask import APIBlueprint

from ..domain import ledger
from .auth import current_user_id, token_auth
from .idempotency import idempotent
from .schemas import TransferIn, TransferOut

bp = APIBlueprint("transfers", __name__, tag="Money movement")


@bp.post("/transfers")
@bp.auth_required(token_auth)
@bp.input(TransferIn)
@bp.output(TransferOut, status_code=201)
@bp.doc(responses=[400, 404, 409, 422])
@idempotent("transfer", TransferOut)
def create_transfer(session, funds, json_data):
    """Send money to an account id or to a customer's email. Needs an Idempotency-Key."""
    return ledger.transfer(session, current_user_id(), funds=funds, **json_data)
