"""Keyset pagination, newest first, stable while new rows arrive.

The cursor encodes the (created, id) of the last row served; the next page is
everything strictly older. New rows are newer, so they never shift a page.

A cursor is `<microseconds since 1970 UTC>.<row id>`, e.g. `1764840600123456.tx_9f2c...`:
every string of that shape (`CURSOR`, which the query schemas validate and /openapi.json
states) names a position a page can start from, so a well-formed cursor is never refused
and anything else is a 400 before a query runs. Clients treat it as opaque.

"Strictly older" is a row-value comparison, `(created, id) < (:created, :id)`, which
SQLite and PostgreSQL both turn into a range on an index on (owner, created, id), so a
page deep into a long history costs what the first one does (the equivalent
`created < :c OR (created = :c AND id < :id)` only narrows to the owner and then
skips every newer row). An upper bound on `created` (`before`) goes into the same
comparison, so the index range starts at whichever bound is tighter.
"""
from datetime import datetime, timedelta

from sqlalchemy import tuple_

from ..clock import naive_utc

# 17 digits of microseconds reach the year 5138: any of them is a valid datetime. Row ids
# are a prefix, `_` and hex; the class is wider so a cursor never depends on that.
CURSOR = r"^([0-9]{1,17}\.[A-Za-z0-9_-]{1,64})?$"  # empty: the first page
EPOCH = datetime(1970, 1, 1)
MICROSECOND = timedelta(microseconds=1)


def encode(created: datetime, row_id: str) -> str:
    return f"{(naive_utc(created) - EPOCH) // MICROSECOND}.{row_id}"


def decode(cursor: str) -> tuple[datetime, str]:
    """A cursor the query schema has matched against CURSOR."""
    micros, row_id = cursor.split(".", 1)
    return EPOCH + int(micros) * MICROSECOND, row_id


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
