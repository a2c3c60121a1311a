"""A customer's webhooks: register a URL, list, delete, and see each delivery."""
from apiflask import APIBlueprint

from ..database.db import db
from ..domain import webhooks
from .auth import current_user_id, token_auth
from .webhook_schemas import (DeliveriesOut, DeliveriesQuery, WebhookCreatedOut, WebhookIn,
                              WebhookPath, WebhooksOut)

bp = APIBlueprint("webhooks", __name__, tag="Webhooks")


@bp.post("/webhooks")
@bp.auth_required(token_auth)
@bp.input(WebhookIn)
@bp.output(WebhookCreatedOut, status_code=201)
@bp.doc(responses=[400, 422])
def create_webhook(json_data):
    """Send my events to a URL; the answer's secret (shown once) signs each delivery."""
    with db.write() as session:
        return webhooks.register(session, current_user_id(), **json_data)


@bp.get("/webhooks")
@bp.auth_required(token_auth)
@bp.output(WebhooksOut)
def list_webhooks():
    """My webhooks (without their secrets)."""
    with db.reading() as connection:
        return {"webhooks": webhooks.listed(connection, current_user_id())}


@bp.delete("/webhooks/<webhook_id>")
@bp.auth_required(token_auth)
@bp.input(WebhookPath, location="path")
@bp.output({}, status_code=204)
@bp.doc(responses=[404])
def delete_webhook(webhook_id, path_data):
    """Stop sending events to a webhook."""
    with db.write() as session:
        webhooks.remove(session, current_user_id(), webhook_id)
    return ""


@bp.get("/webhooks/<webhook_id>/deliveries")
@bp.auth_required(token_auth)
@bp.input(WebhookPath, location="path")
@bp.input(DeliveriesQuery, location="query")
@bp.output(DeliveriesOut)
@bp.doc(responses=[404])
def list_deliveries(webhook_id, path_data, query_data):
    """Each event sent (or to send) to the webhook: attempts, last answer, state, latency."""
    return {"deliveries": webhooks.deliveries(db.session.connection(), current_user_id(),
                                              webhook_id, query_data["limit"])}
