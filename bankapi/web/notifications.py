"""The notification inbox."""
from apiflask import APIBlueprint
from sqlalchemy import func, select

from .auth import current_user_id, token_auth
from ..database.db import db
from ..domain import notifications
from ..models import Notification
from .pagination import page
from .schemas import NotificationOut, NotificationQuery, NotificationsOut, UpdatedOut

bp = APIBlueprint("notifications", __name__, tag="Notifications")


@bp.get("/notifications")
@bp.auth_required(token_auth)
@bp.input(NotificationQuery, location="query")
@bp.output(NotificationsOut)
def list_notifications(query_data):
    """Notifications newest first; ?unread=true for unread ones only."""
    table = Notification.__table__
    mine = table.c.user_id == current_user_id()
    stmt = select(table).where(mine)
    if query_data.get("unread"):
        stmt = stmt.where(table.c.read.is_(False))
    connection = db.session.connection()  # two statements, one snapshot
    rows, next_cursor = page(connection, stmt, table, query_data["limit"],
                             query_data.get("cursor"))
    unread = connection.scalar(select(func.count()).where(mine, table.c.read.is_(False)))
    return {"notifications": rows, "next_cursor": next_cursor, "unread_count": unread}


@bp.post("/notifications/<ntf_id>/read")
@bp.auth_required(token_auth)
@bp.output(NotificationOut)
def mark_read(ntf_id):
    """Mark one notification read."""
    with db.write() as session:
        return notifications.mark_read(session, current_user_id(), ntf_id)


@bp.post("/notifications/read-all")
@bp.auth_required(token_auth)
@bp.output(UpdatedOut)
def mark_all_read():
    """Mark every notification read."""
    with db.write() as session:
        return {"updated": notifications.mark_all_read(session, current_user_id())}
