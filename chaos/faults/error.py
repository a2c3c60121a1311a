"""An error answer in the host app's own format, as an overloaded or broken backend gives.

Clients should back off on 429/503 (and honour Retry-After) and may retry
idempotent requests on 5xx; this fault is how those policies get exercised.
"""
from marshmallow import Schema, validate

from .base import Exchange, Fault
from ..fields import WholeNumber

REASONS = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
           503: "Service Unavailable", 504: "Gateway Timeout"}


class ErrorSettings(Schema):
    status = WholeNumber(required=True, validate=validate.OneOf(sorted(REASONS)))
    retry_after_s = WholeNumber(validate=validate.Range(0, 86_400))


class ErrorFault(Fault):
    type = "error"
    Settings = ErrorSettings

    def __init__(self, status: int, retry_after_s: int | None = None):
        self.status, self.retry_after_s = status, retry_after_s

    def inject(self, exchange: Exchange):
        body = exchange.error_body(self.status)
        headers = [] if self.retry_after_s is None else [("Retry-After", str(self.retry_after_s))]
        return exchange.reply(f"{self.status} {REASONS[self.status]}", body, headers=headers)
