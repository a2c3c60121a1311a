"""Card payments to merchants."""
from apiflask import APIBlueprint
from flask import current_app

from ..domain import ledger, magic
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
    """Pay a merchant from an account: pending until it settles. Needs an Idempotency-Key."""
    magic.wait_for_merchant(json_data["reference"])  # magic:timeout: a slow merchant
    delay = current_app.config["SETTLEMENT_DELAY_S"]

    def run(session, funds):
        payment = ledger.pay(session, current_user_id(), funds=funds, settle_after_s=delay,
                             **json_data)
        return 201, payment_out.dump(payment), payment["id"]
    return idempotent("payment", run)
