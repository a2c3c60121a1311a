"""GET /app/releases/latest: what the mobile app asks on open to decide whether to update."""
from apiflask import APIBlueprint
from flask import current_app, request

from ..database.db import db
from ..domain import releases
from .schemas import DevicePlatformQuery, ReleaseOut

bp = APIBlueprint("releases", __name__, tag="Releases")


@bp.get("/app/releases/latest")
@bp.input(DevicePlatformQuery, location="query")
@bp.output(ReleaseOut)
@bp.doc(responses=[404])
def get_latest(query_data):
    """The newest release for a platform (?platform=, else the X-Platform header) that
    this device (X-Device-Id) is offered: staged rollouts reach only part of the devices."""
    with db.reading() as connection:
        return releases.latest(connection, query_data["platform"],
                               request.headers.get("X-Device-Id"),
                               request.headers.get("X-App-Version"), current_app.config["SEED"])
