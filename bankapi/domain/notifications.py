"""Notifications: what each event tells the customer, writing it in the event's transaction,
and the inbox's own writes (marking read).

The texts live here alone: the ledger writes them as money moves, and the seeder writes
the same texts into a seeded history. Each text function answers `(type, title, body)`.
`note` makes a notification's row and `notify` inserts one or several in one statement
(Core, on the transaction's connection: no ORM object to flush on the money path)."""
from sqlalchemy import insert, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..ids import new_id
from ..models import Notification
from .errors import NotFound

TABLE = Notification.__table__
INSERT = insert(TABLE)
Text = tuple[str, str, str]  # type, title, body


def pounds(pence: int) -> str:
    return f"£{pence / 100:,.2f}"


def topped_up(amount: int) -> Text:
    return "money_in", "Money in", f"{pounds(amount)} topped up"


def money_sent(amount: int, reference: str) -> Text:
    return "money_out", "Money sent", f"{pounds(amount)} sent: {reference}"


def money_received(amount: int, reference: str) -> Text:
    return "money_in", "Money in", f"{pounds(amount)} received: {reference}"


def card_payment(amount: int, merchant: str) -> Text:
    """A card payment authorised (pending until it settles)."""
    return "money_out", "Card payment", f"{pounds(amount)} at {merchant}"


def payment_declined(amount: int, merchant: str, reason: str = "insufficient funds") -> Text:
    return ("payment_declined", "Payment declined",
            f"{pounds(amount)} at {merchant} was declined: {reason}")


def payment_settled(amount: int, merchant: str) -> Text:
    return "payment_settled", "Payment settled", f"{pounds(amount)} at {merchant} has settled"


def payment_returned(amount: int, merchant: str, code: str) -> Text:
    return ("payment_returned", "Payment returned",
            f"{pounds(amount)} at {merchant} was returned ({code}); the money is back")


def budget_crossed(level: str, label: str, spent: int, limit: int, month: str) -> Text:
    """`level` is "warning" (80 %) or "exceeded" (100 %)."""
    title = f"Budget {'exceeded' if level == 'exceeded' else 'warning'}: {label}"
    return (f"budget_{level}", title,
            f"{pounds(spent)} of your {pounds(limit)} {label} budget spent in {month}")


def note(user_id: str, text: Text, created=None) -> dict:
    """A notification's row, created now unless told otherwise."""
    type_, title, body = text
    return {"id": new_id("ntf"), "user_id": user_id, "type": type_, "title": title,
            "body": body, "read": False, "created": created or utcnow()}


def notify(connection: Connection, *notes: dict) -> None:
    connection.execute(INSERT, list(notes))


def mark_read(session: Session, user_id: str, notification_id: str) -> Row:
    """Mark one of the user's notifications read, in one UPDATE ... RETURNING; another
    user's notification looks like no notification."""
    row = session.execute(update(TABLE).where(
        TABLE.c.id == notification_id, TABLE.c.user_id == user_id)
        .values(read=True).returning(*TABLE.c)).first()
    if row is None:
        raise NotFound(f"no notification {notification_id}", "ntf_id")
    return row


def mark_all_read(session: Session, user_id: str) -> int:
    """Mark every unread notification of the user read; how many were."""
    return session.execute(update(TABLE).where(TABLE.c.user_id == user_id,
                                               TABLE.c.read.is_(False))
                           .values(read=True)).rowcount
