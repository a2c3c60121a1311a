"""Admin webhooks (every customer's events to one URL) and the ledger they are checked against."""
from apiflask import APIBlueprint
from sqlalchemy import select

from ..database.db import db
from ..domain import webhooks
from ..models import LedgerEntry
from .pagination import page
from .webhook_schemas import (DeliveriesOut, DeliveriesQuery, LedgerOut, LedgerQuery,
                              WebhookCreatedOut, WebhookIn, WebhookPath, WebhooksOut)

bp = APIBlueprint("admin_webhooks", __name__, tag="Admin")  # token: admin.init_app


@bp.post("/admin/webhooks")
@bp.input(WebhookIn)
@bp.output(WebhookCreatedOut, status_code=201)
@bp.doc(responses=[400, 422])
def create_webhook(json_data):
    """Send every customer's events to one URL; the secret is shown once."""
    with db.write() as session:
        return webhooks.register(session, None, **json_data)


@bp.get("/admin/webhooks")
@bp.output(WebhooksOut)
def list_webhooks():
    """The admin's webhooks (without their secrets)."""
    with db.reading() as connection:
        return {"webhooks": webhooks.listed(connection, None)}


@bp.delete("/admin/webhooks/<webhook_id>")
@bp.input(WebhookPath, location="path")
@bp.output({}, status_code=204)
@bp.doc(responses=[404])
def delete_webhook(webhook_id, path_data):
    """Stop sending every customer's events to an admin webhook."""
    with db.write() as session:
        webhooks.remove(session, None, webhook_id)
    return ""


@bp.get("/admin/webhooks/<webhook_id>/deliveries")
@bp.input(WebhookPath, location="path")
@bp.input(DeliveriesQuery, location="query")
@bp.output(DeliveriesOut)
@bp.doc(responses=[404])
def list_deliveries(webhook_id, path_data, query_data):
    """Each event sent (or to send) to an admin webhook, newest first."""
    return {"deliveries": webhooks.deliveries(db.session.connection(), None, webhook_id,
                                              query_data["limit"])}


@bp.get("/admin/ledger")
@bp.input(LedgerQuery, location="query")
@bp.output(LedgerOut)
def ledger(query_data):
    """Customers' ledger entries created since a moment, newest first: what a receiver's
    events are checked against (`banksim incident`'s webhooks integrity)."""
    entries = LedgerEntry.__table__
    customers = select(entries).where(entries.c.created >= query_data["since"],
                                      ~entries.c.account_id.startswith("acc_sys_"))
    with db.reading() as connection:
        rows, next_cursor = page(connection, customers, entries, query_data["limit"],
                                 query_data.get("cursor"))
    return {"transactions": rows, "next_cursor": next_cursor}
