"""A tiny app for the chaos tests: not the bank, just enough to be broken.

Importable by gunicorn (`chaos_testapp:create_app()`, database from
CHAOS_TEST_DATABASE_URL) and used in-process by the fixtures.
"""
import json
import os

from apiflask import APIFlask, HTTPError
from flask import request
from sqlalchemy import Column, MetaData, String, Table, create_engine, func, insert, select
from sqlalchemy.exc import DBAPIError

import chaos
from chaos import Preset
from chaos.store import ChaosStore

# The tiny app's own presets: chaos serves whatever its host hands it.
PRESETS = (
    Preset("flaky", "rare resets everywhere",
           ({"name": "flaky: resets", "fault": {"type": "reset"}, "probability": 0.05},)),
    Preset("outage", "writes answer 503",
           tuple({"name": f"outage: {path}", "match": {"path": path, "methods": ["POST"]},
                  "fault": {"type": "error", "status": 503, "retry_after_s": 5}}
                 for path in ("/transfers", "/writes"))),
    Preset("three", "three rules aimed at one path",
           tuple({"name": f"three: {n}", "match": {"path": "/hello"},
                  "fault": {"type": "latency", "ms": 10 * n}} for n in (1, 2, 3))),
)


# A table of the tiny app's own, on the store's engine: the database faults act on its
# statements while chaos's own queries, on the same engine, are never faulted.
NOTES = Table("chaos_test_notes", MetaData(), Column("body", String(100), nullable=False))


def identify(environ):
    """The bank's convention: bearer tokens `user_<id>.<secret>`."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    return header[7:].split(".", 1)[0] if header.startswith("Bearer user_") else None


def error_body(status: int, request_id: str) -> bytes:
    """Injected errors in this app's own envelope (as its error processor writes them)."""
    code = {429: "too_many_requests", 503: "service_unavailable"}.get(status, "error")
    return json.dumps({"error": {"code": code, "message": "injected", "request_id": request_id}
                       }).encode()


def create_app(store: ChaosStore | None = None) -> APIFlask:
    if store is None:
        store = ChaosStore(create_engine(os.environ["CHAOS_TEST_DATABASE_URL"]),
                           seed=int(os.environ.get("CHAOS_TEST_SEED", "42")))
    app = APIFlask(__name__, title="chaos test app", version="0")
    app.config.update(VALIDATION_ERROR_STATUS_CODE=400, TESTING=True)
    writes: list[dict] = []

    @app.error_processor
    def envelope(error: HTTPError):
        extra = error.extra_data or {}
        body = {"code": extra.get("code", "error"), "message": error.message,
                "request_id": request.headers.get("X-Request-Id")}
        if extra.get("field"):
            body["field"] = extra["field"]
        return {"error": body}, error.status_code, error.headers

    @app.get("/hello")
    def hello():
        return {"hello": "world", "items": list(range(20))}

    @app.post("/transfers")
    def transfer():
        writes.append(request.get_json(silent=True) or {})
        return {"id": f"tfr_{len(writes)}", "status": "completed"}, 201

    @app.get("/writes")
    def count_writes():
        return {"writes": len(writes)}

    @app.get("/health")
    def health():
        return {"status": "ok"}

    engine = store.engine
    NOTES.metadata.create_all(engine)

    @app.post("/notes")
    def add_notes():
        """Two rows in one transaction: both or neither."""
        with engine.begin() as connection:
            for half in ("first", "second"):
                connection.execute(insert(NOTES).values(body=half))
        return {"added": 2}, 201

    @app.get("/notes")
    def count_notes():
        with engine.connect() as connection:
            return {"notes": connection.scalar(select(func.count()).select_from(NOTES))}

    @app.errorhandler(DBAPIError)
    def database_unavailable(exc):
        return {"error": {"code": "service_unavailable", "message": "database",
                          "request_id": request.headers.get("X-Request-Id")}}, 503, \
            {"Retry-After": "1"}

    chaos.init_app(app, store, identify=identify, refresh_s=0.25, presets=PRESETS,
                   error_body=error_body, exempt_prefixes=("/health", "/metrics"),
                   engines=[engine])
    app.config["WRITES"] = writes
    return app
