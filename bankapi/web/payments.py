"""Card payments to merchants."""
from apiflask import APIBlueprint

from ..domain import ledger
from .auth import current_user_id, token_auth
from .idempotency import idempotent, needs_idempotency_key
from .schemas import PaymentIn, PaymentOut

bp = APIBlueprint("payments", __name__, tag="Money movement")
payment_out = PaymentOut()  # one instance: a new one deep-copies its fields, ~80 us


@bp.post("/payments")
@needs_idempotency_key
@bp.auth_required(token_auth)
@bp.input(PaymentIn)
@bp.output(PaymentOut, status_code=201)
@bp.doc(responses=[400, 404, 409, 422])
def create_payment(json_data):
    """Pay a merchant from an account. Needs an Idempotency-Key."""
    def run(session, funds):
        payment = ledger.pay(session, current_user_id(), funds=funds, **json_data)
        return 201, payment_out.dump(payment), payment["id"]
    return idempotent("payment", run)
