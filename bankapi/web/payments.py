"""Card payments to merchants."""
from apiflask import APIBlueprint

from ..domain import ledger
from .auth import current_user_id, token_auth
from .idempotency import idempotent
from .schemas import PaymentIn, PaymentOut

bp = APIBlueprint("payments", __name__, tag="Money movement")


@bp.post("/payments")
@bp.auth_required(token_auth)
@bp.input(PaymentIn)
@bp.output(PaymentOut, status_code=201)
@bp.doc(responses=[400, 404, 409, 422])
@idempotent("payment", PaymentOut)
def create_payment(session, funds, json_data):
    """Pay a merchant from an account. Needs an Idempotency-Key."""
    return ledger.pay(session, current_user_id(), funds=funds, **json_data)
