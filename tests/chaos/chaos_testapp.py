"""A tiny app for the chaos tests: not the bank, just enough to be broken.

Importable by gunicorn (`chaos_testapp:create_app()`, database from
CHAOS_TEST_DATABASE_URL) and used in-process by the fixtures.
"""
import os

from apiflask import APIFlask, HTTPError
from flask import request
from sqlalchemy import create_engine

import chaos
from chaos.store import ChaosStore


def identify(environ):
    """The bank's convention: bearer tokens `user_<id>.<secret>`."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    return header[7:].split(".", 1)[0] if header.startswith("Bearer user_") else None


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

    chaos.init_app(app, store, identify=identify, refresh_s=0.25)
    app.config["WRITES"] = writes
    return app
