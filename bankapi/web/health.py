"""Liveness (never touched by chaos), and which process answered with which chaos rules
(and whether it lets allowed callers choose faults)."""
import os
from functools import cache
from importlib.metadata import PackageNotFoundError, version

from apiflask import APIBlueprint
from flask import current_app
from sqlalchemy import text

import chaos

from ..database.db import db
from .schemas import HealthOut

SELECT_1 = text("SELECT 1")
bp = APIBlueprint("health", __name__, tag="Operations")


@cache
def app_version() -> str:
    try:
        return version("banksim")
    except PackageNotFoundError:
        return "0.0.0+source"


@bp.get("/health")
@bp.output(HealthOut)
def health():
    """The server is up and its database answers."""
    with db.reading() as connection:
        connection.execute(SELECT_1)
    return {"status": "ok", "version": app_version(), "worker": os.getpid(),
            "chaos_revision": chaos.applied_revision(current_app),
            "chaos_header_faults": chaos.header_faults_on(current_app),
            "test_clock": current_app.state.clock is not None}
