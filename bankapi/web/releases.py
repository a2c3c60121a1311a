"""GET /app/releases/latest: what the mobile app asks on open to decide whether to update."""
from apiflask import APIBlueprint
from flask import current_app, request

from ..database.db import db
from ..domain import releases
from .schemas import PlatformQuery, ReleaseOut

bp = APIBlueprint("releases", __name__, tag="Releases")


@bp.get("/app/releases/latest")
@bp.input(PlatformQuery, location="query")
@bp.output(ReleaseOut)
def get_latest(query_data):
    """The newest release for a platform (?platform=, else the X-Platform header) that
    this device (X-Device-Id) is offered: staged rollouts reach only part of the devices."""
    platform = query_data.get("platform") or request.headers.get("X-Platform", "")
    with db.reading() as connection:
        return releases.latest(connection, platform, request.headers.get("X-Device-Id"),
                               request.headers.get("X-App-Version"), current_app.config["SEED"])
