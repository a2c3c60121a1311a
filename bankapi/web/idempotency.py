"""Idempotency-Key handling for POST /transfers, /payments and /accounts/{id}/topup.

`@idempotent(kind, schema)` under a money view marks it for /openapi.json (the header is
required there) and runs it as one unit: claim the key, look for its stored answer, run the
view, store the answer with the movement (`bankapi.domain.idempotency`). The view becomes
`view(session, funds, **inputs) -> answer`; its answer is dumped with `schema` as a 201.

The unit runs through `db.write_unit`: when PostgreSQL aborts it as a serialization failure
or deadlock, all of it runs again from the start; any other database failure leaves nothing
behind and the client gets a 503 to retry with its key.

`_idempotent_unsafe` is the teaching mode (UNSAFE_LEDGER): deliberately broken.
"""
import functools
import hashlib
import json
import time

from flask import current_app, jsonify, request
from sqlalchemy.exc import IntegrityError

from .auth import current_user_id
from ..database.db import db
from ..domain import idempotency as keys
from ..domain.errors import Declined
from ..domain.funds import CHECK_ONLY, LOCKED, TRUSTING, FundsChecked
from .errors import api_error, envelope
from .metrics import MONEY, REPLAYS
from .openapi import marked_operations

HEADER = keys.HEADER
UNSAFE_RACE_S = 0.05  # teaching mode: the pause between check and act, to widen the race


def idempotent(kind: str, schema, movement_of=lambda answer: answer["id"]):
    """Make a money view idempotent (see the module's docstring). `kind` (topup, transfer,
    payment) labels the metrics; `movement_of(answer)` is the movement's id, kept with the
    key so the audit can tell one key from one movement."""
    dump = schema().dump

    def decorate(view):
        @functools.wraps(view)
        def run(*args, **inputs):
            def act(session, funds):
                answer = view(session, funds, *args, **inputs)
                return 201, dump(answer), movement_of(answer)
            return _run_once(kind, act)
        run.needs_idempotency_key = True  # read by idempotent_operations, for the OpenAPI
        return run
    return decorate


def idempotent_operations(app) -> set[tuple[str, str]]:
    """(OpenAPI path, method) of every route whose view is `idempotent`."""
    return marked_operations(app, "needs_idempotency_key")


def canonical(value):
    """The parsed body with every integral number as an int (`7.0` is `7`), so a retry
    that spells a number differently is still the same request. Keys are sorted when the
    result is dumped; duplicate keys never get this far (`inputs`)."""
    if isinstance(value, dict):
        return {key: canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return [canonical(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _request_hash() -> str:
    """What a retry must repeat: method, path and the body's meaning, not its bytes
    (spacing, key order and `7.0` for `7` do not count)."""
    body = canonical(request.get_json(silent=True))
    text = json.dumps([request.method, request.path, body], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _key() -> str:
    key = request.headers.get(HEADER)
    if key is None:
        raise api_error(400, "idempotency_key_required", f"the {HEADER} header is required",
                        HEADER)
    if not 1 <= len(key) <= 255:
        raise api_error(400, "validation_error", f"{HEADER} must be 1-255 characters", HEADER)
    return key


def _respond(status: int, body: dict, replayed: bool):
    response = jsonify(body)
    response.status_code = status
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _run_once(kind: str, action):
    """Run `action(session, funds) -> (status, body, movement_id)` at most once per key.

    `funds` is the guard the ledger asks before money leaves an account
    (`bankapi.domain.funds`): the locked balance, except in teaching mode."""
    user_id, key, request_hash = current_user_id(), _key(), _request_hash()
    if current_app.config.get("UNSAFE_LEDGER"):
        return _idempotent_unsafe(kind, action, user_id, key, request_hash)

    def once(session):
        """The whole unit, run again from the start if PostgreSQL aborts it (db.write_unit):
        claim, look up, act, store the key, all in one transaction."""
        keys.claim(session, user_id, key)
        connection = session.connection()
        stored = keys.stored(connection, user_id, key)
        if stored is not None:
            return stored
        try:
            status, body, movement_id = action(session, LOCKED)
        except Declined as declined:
            status, body, movement_id = 422, envelope(declined.code, declined.message), None
        keys.store(connection, user_id, key, request_hash, status, body, movement_id)
        return None, status, body

    stored_hash, status, body = db.write_unit(once)
    if stored_hash is not None:
        return _replay(stored_hash, request_hash, status, body)
    MONEY.labels(kind, "completed" if status < 400 else "declined").inc()
    return _respond(status, body, False)


def _replay(stored_hash: str, request_hash: str, status: int, body: dict):
    keys.check_same_request(stored_hash, request_hash)
    REPLAYS.inc()
    return _respond(status, body, True)


def _idempotent_unsafe(kind, action, user_id, key, request_hash):
    """TEACHING MODE (UNSAFE_LEDGER): the same work as `_run_once`, done wrong on purpose.

    Four separate transactions instead of one: look the key up; check the funds (no write
    lock, rolled back); write the movement without checking again; store the key. Concurrent
    requests all pass the check against the same balance (overdrafts), and concurrent or
    crashed duplicates of one key all miss the lookup (money moved twice).
    """
    session = db.session
    session.rollback()
    stored = keys.stored(session.connection(), user_id, key)  # 1. lookup, not atomic with 3.
    session.rollback()
    if stored is not None:
        stored_hash, status, body = stored
        return _replay(stored_hash, request_hash, status, body)
    declined = None
    try:
        with session.begin():  # 2. plain BEGIN: reads the balance, takes no write lock
            action(session, CHECK_ONLY)
            raise FundsChecked()  # nothing was checked (a top-up): roll back all the same
    except FundsChecked:
        pass
    except Declined as exc:
        declined = exc
    if declined is not None:
        status, body, movement_id = 422, envelope(declined.code, declined.message), None
    else:
        time.sleep(UNSAFE_RACE_S)  # the race window, widened for teaching
        with db.write() as session:  # 3. the movement, trusting the stale check
            status, body, movement_id = action(session, TRUSTING)
    try:
        with db.write() as session:  # 4. the key, too late to stop a duplicate
            keys.store(session.connection(), user_id, key, request_hash, status, body,
                       movement_id)
    except IntegrityError:
        pass  # a concurrent duplicate stored it first; this one moved money anyway
    MONEY.labels(kind, "completed" if status < 400 else "declined").inc()
    return _respond(status, body, False)
