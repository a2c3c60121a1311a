"""Card payments to merchants: made pending, read back as they settle."""
from apiflask import APIBlueprint
from flask import current_app
from sqlalchemy import bindparam, select

from ..database.db import db
from ..domain import ledger, magic
from ..domain.errors import NotFound
from ..models import Payment
from .auth import current_user_id, token_auth
from .idempotency import idempotent, needs_idempotency_key
from .schemas import PaymentIn, PaymentOut

bp = APIBlueprint("payments", __name__, tag="Money movement")
PAYMENTS = Payment.__table__
ONE = select(PAYMENTS).where(PAYMENTS.c.id == bindparam("payment_id"),
                             PAYMENTS.c.user_id == bindparam("user_id"))
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


@bp.get("/payments/<payment_id>")
@bp.auth_required(token_auth)
@bp.output(PaymentOut)
@bp.doc(responses=[404])
def get_payment(payment_id):
    """One of the user's card payments, in its current status."""
    with db.reading() as connection:
        row = connection.execute(ONE, {"payment_id": payment_id,
                                       "user_id": current_user_id()}).first()
    if row is None:
        raise NotFound(f"no payment {payment_id}", "payment_id")
    return row
