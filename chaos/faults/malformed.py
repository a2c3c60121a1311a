"""Status 200 with a body that is not valid JSON: a truncated, garbled or empty reply.

Clients must treat a body they cannot parse as a failure, not as success.
`truncated` cuts the real answer in half when there is one (the "after"
phase), otherwise a JSON object of no particular app; a proper prefix of a JSON
object or array is never valid JSON, so the result always fails to parse.
"""
import json

from marshmallow import Schema, fields, validate

from .base import Exchange, Fault

PLAUSIBLE = json.dumps({"status": "ok", "items": [{"id": n, "value": n * n}
                                                  for n in range(8)]}).encode()


class MalformedSettings(Schema):
    mode = fields.String(required=True, validate=validate.OneOf(["truncated", "garbage", "empty"]))


class MalformedFault(Fault):
    type = "malformed"
    Settings = MalformedSettings

    def __init__(self, mode: str):
        self.mode = mode

    def body(self, exchange: Exchange) -> bytes:
        if self.mode == "empty":
            return b""
        if self.mode == "garbage":
            # A NUL first: no decoding of these bytes can start a JSON text.
            return b"\x00" + exchange.rng.randbytes(exchange.rng.randint(64, 256))
        real = exchange.response.body.strip() if exchange.response else b""
        whole = real if real[:1] in (b"{", b"[") and len(real) >= 2 else PLAUSIBLE
        return whole[:len(whole) // 2]

    def inject(self, exchange: Exchange):
        return exchange.reply("200 OK", self.body(exchange))
