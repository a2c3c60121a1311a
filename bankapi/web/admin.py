"""Admin endpoints (releases, audit) and the bearer check that guards every /admin path."""
from apiflask import APIBlueprint
from flask import request
from sqlalchemy import select

from ..domain import releases
from ..domain.audit import run_audit
from .auth import admin_token_matches
from ..database.db import db
from .errors import api_error
from ..models import Transfer
from .pagination import page
from .schemas import (AdminTransfersOut, AdminTransfersQuery, AuditOut, PlatformQuery, ReleaseIn,
                      ReleaseOut, ReleasesOut, RolloutIn, VersionPath)

bp = APIBlueprint("admin", __name__, tag="Admin")


def is_admin(sent_request) -> bool:
    """Whether a request carries `Authorization: Bearer $BANKSIM_ADMIN_TOKEN` (compared in
    constant time). The bank's admin routes and, handed over at install, the chaos admin
    API both ask this."""
    scheme, _, sent = sent_request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and admin_token_matches(sent.strip())


def require_admin_token():
    if not is_admin(request):
        raise api_error(401, "unauthorized", "admin endpoints need the admin bearer token")


def init_app(app) -> None:
    """Every /admin path asks for the admin token before anything else looks at the request
    (registered before `inputs`): a caller without it gets 401, never a 400, 404 or 415
    that tells it about the body or the route. This one check guards every admin
    blueprint (admin, admin_webhooks, clock); chaos's admin API checks for itself, as it
    also runs in hosts other than the bank."""
    @app.before_request
    def admin_token_first():
        path = request.path
        if path == "/admin" or path.startswith("/admin/"):
            require_admin_token()


@bp.post("/admin/releases")
@bp.input(ReleaseIn)
@bp.output(ReleaseOut, status_code=201)
@bp.doc(responses=[409])
def publish_release(json_data):
    """Publish an app release (platform ios, android or all), staged or to everyone."""
    with db.write() as session:
        return releases.publish(session, **json_data)


@bp.patch("/admin/releases/<version>")
@bp.input(VersionPath, location="path")
@bp.input(PlatformQuery, location="query")
@bp.input(RolloutIn)
@bp.output(ReleasesOut)
@bp.doc(responses=[404, 409])
def change_rollout(version, query_data, json_data, path_data):
    """Raise, lower, halt or resume a staged rollout (every platform, or ?platform=)."""
    with db.write() as session:
        changed = releases.change_rollout(session, version, query_data.get("platform"),
                                          **json_data)
    return {"releases": changed}


@bp.get("/admin/audit")
@bp.output(AuditOut)
def audit():
    """Run the ledger invariants (the same checks as `banksim audit`)."""
    return run_audit(db.session)


@bp.get("/admin/transfers")
@bp.input(AdminTransfersQuery, location="query")
@bp.output(AdminTransfersOut)
def list_transfers(query_data):
    """Every customer's transfers, newest first: what load tests reconcile against."""
    with db.reading() as connection:
        rows, next_cursor = page(connection, select(Transfer.__table__), Transfer.__table__,
                                 query_data["limit"], query_data.get("cursor"))
    return {"transfers": rows, "next_cursor": next_cursor}
