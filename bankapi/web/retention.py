"""Pruning wired into the app: after a response is sent, at most once per interval per
process, the domain's `retention.prune` runs (docs: `bankapi/domain/retention.py`)."""
import logging

from flask import current_app

from ..clock import utcnow
from ..database.db import db
from ..domain.retention import Pruner, prune

log = logging.getLogger("banksim")


def init_app(app) -> None:
    pruner = app.state.pruner = Pruner(app.config["PRUNE_INTERVAL_S"])

    @app.after_request
    def prune_after_responding(response):
        if pruner.due():
            response.call_on_close(lambda: _prune_quietly(app))
        return response


def _prune_quietly(app) -> None:
    """Pruning is housekeeping: a failure is logged and retried next interval."""
    try:
        with app.app_context():
            deleted = prune(db.engine, current_app.config, utcnow())
        if any(deleted.values()):
            log.info("pruned %s", deleted)
    except Exception:
        log.exception("pruning failed; will retry")
