"""Card payments to merchants: made pending, read back as they settle."""
import functools

from apiflask import APIBlueprint
from flask import current_app
from sqlalchemy import bindparam, select

from ..database.db import db
from ..domain import ledger, magic
from ..domain.errors import NotFound
from ..models import Payment
from .auth import current_user_id, token_auth
from .idempotency import idempotent
from .schemas import PaymentIn, PaymentOut

bp = APIBlueprint("payments", __name__, tag="Money movement")


def merchant_answers_first(view):
    """`magic:timeout` keeps the request waiting as a slow merchant would, before the
    payment's write transaction begins (held for 30 s it would stop every SQLite writer)."""
    @functools.wraps(view)
    def wait_then_pay(*args, json_data, **kwargs):
        magic.wait_for_merchant(json_data["reference"])
        return view(*args, json_data=json_data, **kwargs)
    return wait_then_pay


PAYMENTS = Payment.__table__
ONE = select(PAYMENTS).where(PAYMENTS.c.id == bindparam("payment_id"),
                             PAYMENTS.c.user_id == bindparam("user_id"))


@bp.post("/payments")
@bp.auth_required(token_auth)
@bp.input(PaymentIn)
@bp.output(PaymentOut, status_code=201)
@bp.doc(responses=[400, 404, 409, 422])
@merchant_answers_first
@idempotent("payment", PaymentOut)
def create_payment(session, funds, json_data):
    """Pay a merchant from an account: pending until it settles. Needs an Idempotency-Key."""
    return ledger.pay(session, current_user_id(), funds=funds,
                      settle_after_s=current_app.config["SETTLEMENT_DELAY_S"], **json_data)


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
