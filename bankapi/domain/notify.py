"""Notifications are written by events in the same transaction as the event.

`note` makes a notification's row and `notify` inserts one or several in one statement
(Core, on the transaction's connection: no ORM object to flush on the money path)."""
from sqlalchemy import insert
from sqlalchemy.engine import Connection

from ..clock import utcnow
from ..ids import new_id
from ..models import Notification

INSERT = insert(Notification.__table__)


def pounds(pence: int) -> str:
    return f"£{pence / 100:,.2f}"


def note(user_id: str, type_: str, title: str, body: str, created=None) -> dict:
    """A notification's row, created now unless told otherwise."""
    return {"id": new_id("ntf"), "user_id": user_id, "type": type_, "title": title,
            "body": body, "read": False, "created": created or utcnow()}


def notify(connection: Connection, *notes: dict) -> None:
    connection.execute(INSERT, list(notes))
