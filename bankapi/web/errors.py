"""One error envelope for every failure, and the request id that names each request.

Every error leaves as `{"error": {"code", "message", "request_id"}}` (plus `field`
for validation errors): schema failures, aborts, 404/405/413/415 from Flask, and
unexpected exceptions, which are logged and answered 500 without details.
"""
import json
import logging
import random
import re

from apiflask import HTTPError
from flask import g, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from ..domain import errors as domain
from ..database.engines import is_unavailable

log = logging.getLogger("banksim")

CODES = {400: "validation_error", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 408: "request_timeout", 409: "conflict",
         413: "payload_too_large", 414: "uri_too_long", 415: "unsupported_media_type",
         422: "unprocessable",
         429: "too_many_requests", 431: "headers_too_large",
         500: "internal_error", 502: "bad_gateway", 503: "service_unavailable",
         504: "gateway_timeout"}
# Each kind of domain refusal and the status it answers; the domain itself names none.
DOMAIN_STATUS = {domain.NotFound: 404, domain.Invalid: 400, domain.Conflict: 409,
                 domain.Unprocessable: 422, domain.Locked: 429}
REQUEST_ID = re.compile(r"^[\w.:-]{1,128}$")


# The envelope as an OpenAPI schema, so /openapi.json documents what 4xx/5xx bodies are.
ERROR_SCHEMA = {
    "type": "object", "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["code", "message", "request_id"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "request_id": {"type": "string"},
                       "field": {"type": "string", "description": "the bad input"}}}},
}


def api_error(status: int, code: str, message: str, field: str | None = None,
              headers: dict | None = None) -> HTTPError:
    """Build the exception views raise; the processor below renders it."""
    extra = {"code": code}
    if field:
        extra["field"] = field
    return HTTPError(status, message, extra_data=extra, headers=headers)


def injected_error_body(status: int, request_id: str) -> bytes:
    """The envelope of an error the chaos layer injects (it has no request context)."""
    return error_body(status, "injected failure (chaos)", request_id)


def error_body(status: int, message: str, request_id: str) -> bytes:
    """The envelope of an answer made outside a Flask request (chaos's injected errors, the
    server's refusal of a request that did not arrive whole)."""
    return json.dumps({"error": {"code": CODES.get(status, "error"), "message": message,
                                 "request_id": request_id}}).encode()


def from_domain(error: domain.DomainError) -> HTTPError:
    """The HTTP answer to a domain refusal (the most specific kind's status wins)."""
    status = next(status for kind, status in DOMAIN_STATUS.items() if isinstance(error, kind))
    headers = ({"Retry-After": str(error.retry_after_s)} if isinstance(error, domain.Locked)
               else None)
    return api_error(status, error.code, error.message, error.field, headers)


def envelope(code: str, message: str, field: str | None = None) -> dict:
    body = {"code": code, "message": message, "request_id": g.get("request_id")}
    if field:
        body["field"] = field
    return {"error": body}


def _first_field_error(detail: dict) -> tuple[str | None, str]:
    """Flatten apiflask's `{"json": {"amount": ["Not a valid integer."]}}` to one field."""
    for _location, fields in (detail or {}).items():
        if isinstance(fields, dict):
            for name, messages in _walk(fields):
                if name == "_schema":
                    return None, messages
                return name, messages
    return None, "invalid request"


def _walk(fields: dict, prefix: str = ""):
    for name, value in fields.items():
        dotted = f"{prefix}{name}"
        if isinstance(value, dict):
            yield from _walk(value, f"{dotted}.")
        else:
            yield dotted, " ".join(str(v) for v in value) if isinstance(value, list) else str(value)


def new_request_id() -> str:
    """32 hex digits, like a uuid4's, from the process's generator (reseeded at fork), not
    os.urandom: a request id names a request, it guards nothing, and this is per request."""
    return f"{random.getrandbits(128):032x}"


def process_error(error: HTTPError):
    """apiflask's error processor: every HTTPError becomes the envelope."""
    extra = error.extra_data or {}
    code = extra.get("code") or CODES.get(error.status_code, "error")
    field = extra.get("field")
    message = error.message
    if error.status_code == 400 and error.detail and not field:
        field, reason = _first_field_error(error.detail)
        if field == "_schema" or field is None:
            message = f"invalid request body: {reason}"
        else:
            message = f"{field}: {reason}"
    return envelope(code, message, field), error.status_code, error.headers


def init_app(app) -> None:
    app.error_processor(process_error)
    app.config.update(HTTP_ERROR_SCHEMA=ERROR_SCHEMA, VALIDATION_ERROR_SCHEMA=ERROR_SCHEMA)

    @app.before_request
    def assign_request_id():
        sent = request.environ.get("HTTP_X_REQUEST_ID", "")
        g.request_id = sent if sent and REQUEST_ID.match(sent) else new_request_id()

    @app.after_request
    def send_request_id(response):
        response.headers["X-Request-Id"] = g.get("request_id") or new_request_id()
        return response

    @app.errorhandler(domain.DomainError)
    def refused(error):
        return process_error(from_domain(error))

    @app.errorhandler(DBAPIError)
    def database_unavailable(exc):
        """A statement the database failed (busy, locked, read-only, full, a conflict, the
        connection dropped): the transaction rolled back, so the client may retry."""
        if not is_unavailable(exc):
            return unexpected(exc)
        log.warning("database unavailable: %s", str(exc).splitlines()[0])
        return envelope("service_unavailable", "the database is unavailable; retry shortly"), \
            503, {"Retry-After": "1"}

    @app.errorhandler(Exception)
    def unexpected(exc):
        if isinstance(exc, HTTPError):
            return process_error(exc)
        if isinstance(exc, HTTPException):
            return process_error(HTTPError(exc.code, exc.description))
        log.exception("unhandled error on %s %s", request.method, request.path)
        return envelope("internal_error", "internal error"), 500
