"""Card payments to merchants: made pending, read back as they settle."""
import functools

from apiflask import APIBlueprint
from flask import current_app, request
from sqlalchemy import bindparam, select

from ..database.db import db
from ..domain import idempotency as keys
from ..domain import ledger, magic
from ..domain.errors import NotFound
from ..models import Payment
from .auth import current_user_id, token_auth
from .idempotency import idempotent
from .schemas import PaymentIn, PaymentOut

bp = APIBlueprint("payments", __name__, tag="Money movement")


def merchant_answers_first(view):
    """`magic:timeout` keeps the request waiting as a slow merchant would, before the
    payment's write transaction begins (held for 30 s it would stop every SQLite writer).
    At most `magic.max_hanging` requests per process wait (`current_app.state.merchants`);
    a retry of a key already answered replays at once (its merchant answered long ago), and
    a request without a key is refused at once."""
    @functools.wraps(view)
    def wait_then_pay(*args, json_data, **kwargs):
        reference = json_data["reference"]
        if magic.merchant_hang_s(reference) and not _nothing_to_wait_for():
            current_app.state.merchants.wait_for(reference)
        return view(*args, json_data=json_data, **kwargs)
    return wait_then_pay


def _nothing_to_wait_for() -> bool:
    """True without an Idempotency-Key (refused at once) or when the key already has a
    stored answer (one read)."""
    key = request.headers.get(keys.HEADER)
    if not key:
        return True
    with db.reading() as connection:
        return keys.stored(connection, current_user_id(), key) is not None


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
