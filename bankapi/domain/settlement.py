"""Settlement: a card payment's life after authorisation, one step at a time.

    pending --> settled --> returned (with a return code)
        \\--> declined

`pay` (ledger.py) authorises a payment into the `holds` account and writes when its next
step is due (`due_at`, on the bank's clock). The settlement worker (`bankapi/settler.py`,
inside every `banksim serve` process) asks `due` for payments whose step is due and runs
`step` for each in a write transaction of its own. Every status change goes through
`change_status`, which claims the payment with a conditional UPDATE (`... WHERE status =
<the status it read>`): of two processes stepping the same payment at once, the second's
UPDATE finds no row (PostgreSQL re-reads the row once the first commits; SQLite runs one
writer at a time) and it moves no money. The claim, the money, the entries' status, the
history and the notification commit together or not at all, so a crash mid-settlement
leaves the payment pending, for the next pass.

The money at each step (the ledger stays double-entry throughout):
settled: holds -> merchants; declined: holds -> the customer (`card_release`), both
lowering the account's `held`; returned: merchants -> the customer (`card_return`).
"""
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.orm import Session

from ..database.driver import DriverQuery
from ..models import LedgerEntry, Payment
from . import budgeting, ledger, magic, outbox, status_history
from . import notifications as texts
from .notifications import note, notify

STATUSES = ("pending", "settled", "declined", "returned")
PAYMENTS, ENTRIES = Payment.__table__, LedgerEntry.__table__
_IS_DUE = PAYMENTS.c.due_at <= bindparam("now")
DUE = select(PAYMENTS.c.id).where(_IS_DUE).order_by(PAYMENTS.c.due_at).limit(bindparam("limit"))
# whether a pass has anything to do: every serving process asks it a few times a second,
# and on SQLite the driver's cursor answers it for a fraction of what DUE costs (driver.py)
ANY_DUE = DriverQuery(select(PAYMENTS.c.id).where(_IS_DUE).limit(1))
# On PostgreSQL a payment another process is stepping is skipped, not waited for (the claim
# in `change_status` is what guarantees one step; this only spares the wait).
ONE = (select(PAYMENTS).where(PAYMENTS.c.id == bindparam("payment_id"))
       .with_for_update(skip_locked=True))
PAID_ENTRY = select(ENTRIES).where(ENTRIES.c.movement_id == bindparam("payment_id"),
                                   ENTRIES.c.account_id == bindparam("account_id"),
                                   ENTRIES.c.kind == "card_payment")
CLAIM = (update(PAYMENTS).where(PAYMENTS.c.id == bindparam("payment_id"),
                                PAYMENTS.c.status == bindparam("was"))
         .values(status=bindparam("new"), due_at=bindparam("next_due"),
                 return_code=bindparam("code")))
ENTRY_STATUS = (update(ENTRIES).where(ENTRIES.c.movement_id == bindparam("payment_id"),
                                      ENTRIES.c.kind == "card_payment")
                .values(status=bindparam("new")))


def due(connection: Connection, now: datetime, limit: int = 100) -> list[str]:
    """Ids of payments whose next step is due at `now`, the longest-waiting first."""
    return list(connection.scalars(DUE, {"now": now, "limit": limit}))


def next_status(payment: Row) -> str | None:
    """Where a payment goes next, or None if it is final."""
    if payment.status == "pending":
        return "declined" if payment.outcome == "declined" else "settled"
    if payment.status == "settled" and payment.outcome == "returned":
        return "returned"
    return None


def step(session: Session, payment_id: str, now: datetime) -> str | None:
    """Take the payment's next step if it is due; its new status, or None when there was
    nothing to do (not due, final, or another process took the step first)."""
    connection = session.connection()
    payment = connection.execute(ONE, {"payment_id": payment_id}).first()
    if payment is None or payment.due_at is None or payment.due_at > now:
        return None
    new = next_status(payment)
    if new is None:
        return None
    return new if change_status(connection, payment, new, now) else None


def change_status(connection: Connection, payment: Row, new: str, now: datetime) -> bool:
    """The one place a movement's status changes: claim it, move the money, mark its
    entries, record the step and tell the customer. False (and nothing written) when the
    payment is no longer in the status `payment` was read in."""
    if new not in STATUSES:
        raise ValueError(f"no payment status {new!r}")
    returns_later = new == "settled" and payment.outcome == "returned"
    code = _planned_code(payment) if new == "returned" else None
    next_due = now + (payment.due_at - payment.created) if returns_later else None
    claimed = connection.execute(CLAIM, {"payment_id": payment.id, "was": payment.status,
                                         "new": new, "next_due": next_due, "code": code})
    if claimed.rowcount != 1:
        return False
    available, posted = _move_money(connection, payment, new, now)
    connection.execute(ENTRY_STATUS, {"payment_id": payment.id, "new": new})
    _announce(connection, payment, new, available, posted)
    status_history.record(connection, payment.id, new, now)
    notify(connection, note(payment.user_id, _text(payment, new, code), now))
    if new in ("declined", "returned"):
        budgeting.unrecord_spend(connection, payment.user_id, payment.category,
                                 payment.amount, payment.created)
    return True


def _planned_code(payment: Row) -> str:
    """The return code the reference planned (read from it again, never stored twice)."""
    return magic.plan(payment.reference).return_code or "R01"


def _move_money(connection: Connection, payment: Row, new: str,
                now: datetime) -> tuple[int, list[dict]]:
    """Post the step's movement under the payment's own movement id, customer row locked
    first (the ledger's lock order: customers, then system accounts in id order); the
    customer's available balance before it, and the entries posted."""
    available = ledger.lock_accounts(connection, payment.account_id)[payment.account_id].available
    currency, customer = payment.currency, payment.account_id
    holds = ledger.system_account_id("holds", currency)
    merchants = ledger.system_account_id("merchants", currency)
    source, target, kind = {"settled": (holds, merchants, "card_settlement"),
                            "declined": (holds, customer, "card_release"),
                            "returned": (merchants, customer, "card_return")}[new]
    legs = (ledger.leg(source, -payment.amount, currency, kind, payment.merchant, target,
                        category=payment.category, merchant=payment.merchant),
            ledger.leg(target, payment.amount, currency, kind, payment.merchant, source,
                        category=payment.category, merchant=payment.merchant))
    if new in ("settled", "declined"):
        connection.execute(ledger.HOLD, {"account": customer, "delta": -payment.amount})
    return available, ledger.post_movement(connection, payment.id, now, *legs)


def _announce(connection: Connection, payment: Row, new: str, available: int,
              posted: list[dict]) -> None:
    """The webhook events of a step, in its transaction (`outbox`): transaction.created
    for money that came back to the customer (a release or a return), then
    transaction.updated for the payment's own entry, with its new status."""
    back = [{**entry, "status": new} for entry in posted
            if entry["account_id"] == payment.account_id]  # stored with the step's status
    for entry in back:
        outbox.announce(connection, payment.user_id, entry, available)
    after = available + sum(entry["amount"] for entry in back)
    original = connection.execute(PAID_ENTRY, {"payment_id": payment.id,
                                               "account_id": payment.account_id}).first()
    if original is not None:
        outbox.record(connection, outbox.UPDATED, user_id=payment.user_id,
                      account_id=payment.account_id,
                      data=outbox.transaction_data(original._asdict(), after, status=new))


def _text(payment: Row, new: str, code: str | None) -> texts.Text:
    if new == "settled":
        return texts.payment_settled(payment.amount, payment.merchant)
    if new == "declined":
        return texts.payment_declined(payment.amount, payment.merchant, "by the merchant")
    return texts.payment_returned(payment.amount, payment.merchant, code)
