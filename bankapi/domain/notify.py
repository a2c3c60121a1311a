"""Notifications are written by events in the same transaction as the event."""
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..ids import new_id
from ..models import Notification


def pounds(pence: int) -> str:
    return f"£{pence / 100:,.2f}"


def notify(session: Session, user_id: str, type_: str, title: str, body: str, created=None):
    session.add(Notification(id=new_id("ntf"), user_id=user_id, type=type_, title=title,
                             body=body, read=False, created=created or utcnow()))
