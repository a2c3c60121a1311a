"""Admin endpoints (releases, audit) and the bearer check that guards every /admin path."""
from apiflask import APIBlueprint
from flask import request
from sqlalchemy import select

from ..domain import releases
from ..domain.audit import run_audit
from .auth import admin_token_matches
from ..db import db
from .errors import api_error
from ..models import Transfer
from .pagination import page
from .schemas import (AdminTransfersOut, AdminTransfersQuery, AuditOut, PlatformQuery, ReleaseIn,
                      ReleaseOut, ReleasesOut, RolloutIn)

bp = APIBlueprint("admin", __name__, tag="Admin")


@bp.before_app_request
def require_admin_token():
    """Every /admin path, including the chaos API, needs BANKSIM_ADMIN_TOKEN."""
    if not request.path.startswith("/admin"):
        return
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not admin_token_matches(sent.strip()):
        raise api_error(401, "unauthorized", "admin endpoints need the admin bearer token")


@bp.post("/admin/releases")
@bp.input(ReleaseIn)
@bp.output(ReleaseOut, status_code=201)
def publish_release(json_data):
    """Publish an app release (platform ios, android or all), staged or to everyone."""
    with db.write() as session:
        return releases.publish(session, **json_data)


@bp.patch("/admin/releases/<version>")
@bp.input(PlatformQuery, location="query")
@bp.input(RolloutIn)
@bp.output(ReleasesOut)
def change_rollout(version, query_data, json_data):
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
    rows, next_cursor = page(db.session, select(Transfer), Transfer, query_data["limit"],
                             query_data.get("cursor"))
    return {"transfers": rows, "next_cursor": next_cursor}
