"""The TCP connection is reset: the client gets a connection error and no answer.

In the "after" phase the handler has already committed its work, so the client
cannot know whether its transfer happened: only an idempotent retry is safe.
"""
from marshmallow import Schema

from .. import connection
from .base import Exchange, Fault


class ResetFault(Fault):
    type = "reset"
    Settings = Schema

    def inject(self, exchange: Exchange):
        raise connection.reset(exchange.environ)
