"""A movement's status history: the rows `settlement.change_status` and the ledger write,
and the `status_history` lists the API shows."""
from collections import defaultdict
from datetime import datetime

from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Connection

from ..models import LedgerEntry, StatusChange

CHANGES = StatusChange.__table__
INSERT = insert(CHANGES)
OF_MOVEMENTS = (select(CHANGES.c.movement_id, CHANGES.c.status, CHANGES.c.at)
                .where(CHANGES.c.movement_id.in_(bindparam("ids", expanding=True)))
                .order_by(CHANGES.c.movement_id, CHANGES.c.id))


def record(connection: Connection, movement_id: str, status: str, at: datetime) -> None:
    """A step of a movement that changes status: its first (`ledger.pay`) or a later one
    (only `settlement.change_status` writes those)."""
    connection.execute(INSERT, {"movement_id": movement_id, "status": status, "at": at})


def with_history(connection: Connection, entries) -> list[dict]:
    """`entries` (ledger rows) as dicts with their `status_history`, in one query for the
    page: a movement with no recorded steps (a top-up, a transfer, seeded history) has
    one, its status when it was made."""
    rows = [_as_dict(entry) for entry in entries]
    ids = sorted({row["movement_id"] for row in rows if row["kind"] == "card_payment"})
    steps = defaultdict(list)
    if ids:
        for movement_id, status, at in connection.execute(OF_MOVEMENTS, {"ids": ids}):
            steps[movement_id].append({"status": status, "at": at})
    for row in rows:
        row["status_history"] = (steps.get(row["movement_id"])
                                 or [{"status": row["status"], "at": row["created"]}])
    return rows


def _as_dict(entry) -> dict:
    """A Core row, an ORM entry or a dict, as a dict of the entry's columns."""
    if hasattr(entry, "_mapping"):
        return dict(entry._mapping)
    if isinstance(entry, dict):
        return dict(entry)
    return {column.key: getattr(entry, column.key) for column in LedgerEntry.__table__.c}
