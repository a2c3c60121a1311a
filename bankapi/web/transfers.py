"""Transfers between customer accounts."""
from apiflask import APIBlueprint

from ..domain import ledger
from .auth import current_user_id, token_auth
from .idempotency import idempotent, needs_idempotency_key
from .schemas import TransferIn, TransferOut

bp = APIBlueprint("transfers", __name__, tag="Money movement")
transfer_out = TransferOut()  # one instance: a new one deep-copies its fields, ~80 us


@bp.post("/transfers")
@needs_idempotency_key
@bp.auth_required(token_auth)
@bp.input(TransferIn)
@bp.output(TransferOut, status_code=201)
@bp.doc(responses=[400, 404, 409, 422])
def create_transfer(json_data):
    """Send money to an account id or to a customer's email. Needs an Idempotency-Key."""
    def run(session, funds):
        transfer = ledger.transfer(session, current_user_id(), funds=funds, **json_data)
        return 201, transfer_out.dump(transfer), transfer["id"]
    return idempotent("transfer", run)
