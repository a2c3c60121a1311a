"""Keyset pagination, newest first, stable while new rows arrive.

The cursor encodes the (created, id) of the last row served; the next page is
everything strictly older. New rows are newer, so they never shift a page.
"""
import base64
from datetime import datetime

from sqlalchemy import and_, or_

from .errors import api_error
from .inputs import bad_text


def encode(created: datetime, row_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created.isoformat()}|{row_id}".encode()).decode()


def decode(cursor: str) -> tuple[datetime, str]:
    try:
        created, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        if bad_text(row_id):  # a NUL would reach the query: a 500 on PostgreSQL
            raise ValueError(row_id)
        return datetime.fromisoformat(created), row_id
    except (ValueError, UnicodeDecodeError):
        raise api_error(400, "validation_error", "cursor: not a cursor from this API",
                        "cursor") from None


def page(session, stmt, model, limit: int, cursor: str | None):
    """Rows of `stmt` newest first, and the cursor for the next page (None at the end)."""
    if cursor:
        created, row_id = decode(cursor)
        stmt = stmt.where(or_(model.created < created,
                              and_(model.created == created, model.id < row_id)))
    rows = list(session.scalars(stmt.order_by(model.created.desc(), model.id.desc())
                                .limit(limit + 1)))
    next_cursor = encode(rows[limit - 1].created, rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor
