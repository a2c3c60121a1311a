"""Keyset pagination, newest first, stable while new rows arrive.

The cursor encodes the (created, id) of the last row served; the next page is
everything strictly older. New rows are newer, so they never shift a page.

"Strictly older" is a row-value comparison, `(created, id) < (:created, :id)`, which
SQLite and PostgreSQL both turn into a range on an index on (owner, created, id), so a
page deep into a long history costs what the first one does (the equivalent
`created < :c OR (created = :c AND id < :id)` only narrows to the owner and then
skips every newer row). An upper bound on `created` (`before`) goes into the same
comparison, so the index range starts at whichever bound is tighter.
"""
import base64
from datetime import datetime

from sqlalchemy import tuple_

from ..clock import naive_utc
from .errors import api_error
from .inputs import bad_text


def encode(created: datetime, row_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created.isoformat()}|{row_id}".encode()).decode()


def decode(cursor: str) -> tuple[datetime, str]:
    try:
        created, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        if bad_text(row_id):  # a NUL would reach the query: a 500 on PostgreSQL
            raise ValueError(row_id)
        return naive_utc(datetime.fromisoformat(created)), row_id
    except (ValueError, UnicodeDecodeError, OverflowError):  # a zone past year 1 or 9999
        raise api_error(400, "validation_error", "cursor: not a cursor from this API",
                        "cursor") from None


def page(connection, stmt, table, limit: int, cursor: str | None,
         before: datetime | None = None):
    """Rows of `stmt` (a Core select of `table`'s columns) created before `before` (if
    given), newest first, and the cursor for the next page (None at the end). The rows
    are plain `Row`s, not ORM objects: a page of them costs a fraction of the CPU, and
    the response schemas read their attributes just the same."""
    bounds = [(before, "")] if before is not None else []  # ids are never empty
    if cursor:
        bounds.append(decode(cursor))
    if bounds:
        stmt = stmt.where(tuple_(table.c.created, table.c.id) < tuple_(*min(bounds)))
    rows = connection.execute(stmt.order_by(table.c.created.desc(), table.c.id.desc())
                              .limit(limit + 1)).all()
    next_cursor = encode(rows[limit - 1].created, rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor
