"""The checks every request passes before a view sees it, so no view has to repeat them.

Some input is valid JSON, a valid URL or a valid header and still cannot be stored or
parsed safely, and would otherwise surface as a 500 deep inside a view:

- text containing NUL (PostgreSQL refuses it in `text`; SQLite would store it silently)
  or an unpaired surrogate (`"\\ud800"` is legal JSON but not encodable as UTF-8, so the
  password hash, SQLite and psycopg all raise);
- JSON nested deeper than MAX_JSON_DEPTH (the parser recurses: 5,000 levels raise
  RecursionError). The depth is measured on the raw bytes, before anything parses them;
- an object with the same key twice (`{"amount": 1, "amount": 900}`): JSON parsers differ
  on which one wins (Python's takes the last), so a proxy or log that read the first would
  see another request than the bank did. Refused, naming the key.

All of these answer 400 `validation_error` naming the field (or `body`), before any view
runs, so nothing is written. Cursors are decoded later; `pagination` uses `bad_text` too.
"""
import json
import re

from flask import request
from werkzeug.exceptions import HTTPException

from .errors import api_error

MAX_JSON_DEPTH = 32  # the bank's bodies are flat objects; chaos rules nest 3 levels
BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
# What /openapi.json says of every string a request carries (JSON Schema cannot name an
# unpaired surrogate: its strings are Unicode text, which has none).
STORABLE_TEXT = r"^[^\x00]*$"
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(rb"[\[\]{}]")
STORED_HEADERS = (("Idempotency-Key", "HTTP_IDEMPOTENCY_KEY"),)  # (header, WSGI environ key)


def bad_text(value: str) -> bool:
    """True if `value` holds NUL or an unpaired surrogate (what no database can store)."""
    return BAD_TEXT.search(value) is not None


def json_depth(raw: bytes) -> int:
    """How deeply the arrays and objects in `raw` nest, counted without parsing it."""
    depth = deepest = 0
    for bracket in _BRACKET.finditer(_JSON_STRING.sub(b'""', raw)):
        depth += 1 if bracket.group() in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


class DuplicateKey(ValueError):
    """An object in the body names `key` twice."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple]) -> dict:
    """`object_pairs_hook` for json.loads: the object as a dict, or DuplicateKey."""
    body = dict(pairs)
    if len(body) != len(pairs):
        seen = set()
        for key, _value in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return body


def _refuse(field: str, reason: str):
    return api_error(400, "validation_error", f"{field}: {reason}", field)


def _check_text(value, field: str) -> None:
    if isinstance(value, str) and bad_text(value):
        raise _refuse(field, "must not contain NUL or unpaired surrogate characters")


def _walk_json(value, path: str) -> None:
    """Every string in a parsed body (keys too), named by its dotted path."""
    if isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, path or "body")
            _walk_json(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk_json(item, f"{path}.{index}" if path else str(index))
    else:
        _check_text(value, path or "body")


def check_body() -> None:
    """JSON only, not too deep, well formed, and every string storable."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    try:
        raw = request.get_data(cache=True)  # 413 above MAX_CONTENT_LENGTH, chunked or not
    except HTTPException:
        raise
    except Exception:  # the server's parser on a body it could not read (broken chunks)
        raise _refuse("body", "the body could not be read as its framing says") from None
    if not raw:
        return
    if not request.is_json:
        raise api_error(415, "unsupported_media_type",
                        "request bodies must be JSON (Content-Type: application/json)")
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise _refuse("body", f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        body = json.loads(raw, object_pairs_hook=_unique_keys)  # what get_json will read
    except DuplicateKey as duplicate:
        _check_text(duplicate.key, "body")
        raise _refuse(duplicate.key, "given more than once") from None
    except ValueError:  # malformed, or not UTF-8/16/32
        body = None
    if body is None:
        raise _refuse("body", "malformed JSON")
    if not isinstance(body, dict):  # every operation takes an object
        raise _refuse("body", "must be a JSON object")
    _walk_json(body, "")


def check_url_and_headers() -> None:
    """Path ids (`/accounts/%00`), query parameters and the headers the bank stores."""
    for name, value in (request.view_args or {}).items():
        _check_text(value, name)
    if request.query_string:  # every request passes here: parse the query only if there is one
        for name, value in request.args.items(multi=True):
            _check_text(name, "query")
            _check_text(value, name)
    environ = request.environ
    for name, key in STORED_HEADERS:
        _check_text(environ.get(key), name)


def init_app(app) -> None:
    @app.before_request
    def refuse_unstorable_input():
        check_url_and_headers()
        check_body()
