"""Idempotency-Key handling for POST /transfers, /payments and /accounts/{id}/topup.

The first request with a key does the work and stores its answer in the SAME
database transaction as the movement: either both are committed or neither is,
so a client that lost the answer (connection reset after commit) can retry with
the key and get the stored answer back, never a second movement.

Concurrency: on PostgreSQL a transaction-scoped advisory lock on (user, key) is
tried first; a request that finds it held answers 409 `idempotency_conflict`.
On SQLite `BEGIN IMMEDIATE` already serialises writers, so a concurrent duplicate
waits for the first to commit and is answered with the replay.

The unit (lock, look up, act, store the key) runs through `db.write_unit`: when PostgreSQL
aborts it as a serialization failure or deadlock, all of it runs again from the start; any
other database failure leaves nothing behind and the client gets a 503 to retry with its key.

`_idempotent_unsafe` is the teaching mode (UNSAFE_LEDGER): deliberately broken.
"""
import hashlib
import json
import time

from flask import current_app, jsonify, request
from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.exc import IntegrityError

from .auth import current_user_id
from ..clock import utcnow
from ..database.db import db
from ..database.engines import is_postgres
from ..domain.errors import Declined
from ..domain.funds import CHECK_ONLY, LOCKED, TRUSTING, FundsChecked
from .errors import api_error, envelope
from .metrics import MONEY, REPLAYS
from .openapi import marked_operations
from ..models import IdempotencyKey

HEADER = "Idempotency-Key"
UNSAFE_RACE_S = 0.05  # teaching mode: the pause between check and act, to widen the race


def needs_idempotency_key(view):
    """Mark a view that runs `idempotent`: /openapi.json then documents the header as
    required on its operation (`idempotent_operations`), so the two cannot drift apart."""
    view.needs_idempotency_key = True
    return view


def idempotent_operations(app) -> set[tuple[str, str]]:
    """(OpenAPI path, method) of every route whose view is marked needs_idempotency_key."""
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


def _advisory_lock_id(user_id: str, key: str) -> int:
    digest = hashlib.blake2b(f"{user_id}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _respond(status: int, body: dict, replayed: bool):
    response = jsonify(body)
    response.status_code = status
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


KEYS = IdempotencyKey.__table__
STORED = select(KEYS.c.request_hash, KEYS.c.response_status, KEYS.c.response_body).where(
    KEYS.c.user_id == bindparam("user"), KEYS.c.key == bindparam("idempotency_key"))
STORE = insert(KEYS)
TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(:id)")


def _stored(connection, user_id: str, key: str):
    """(request_hash, status, body) stored for the key, or None."""
    row = connection.execute(STORED, {"user": user_id, "idempotency_key": key}).first()
    return None if row is None else (row[0], row[1], json.loads(row[2]))


def _store(connection, user_id, key, request_hash, status, body, movement_id) -> None:
    connection.execute(STORE, {"user_id": user_id, "key": key, "request_hash": request_hash,
                               "response_status": status, "response_body": json.dumps(body),
                               "movement_id": movement_id, "created": utcnow()})


def idempotent(kind: str, action):
    """Run `action(session, funds) -> (status, body, movement_id)` at most once per key.

    `funds` is the guard the ledger asks before money leaves an account
    (`bankapi.domain.funds`): the locked balance, except in teaching mode.

    `kind` (topup, transfer, payment) labels the metrics. The key is looked up and stored
    with Core statements on the transaction's connection (no ORM object to flush)."""
    user_id, key, request_hash = current_user_id(), _key(), _request_hash()
    if current_app.config.get("UNSAFE_LEDGER"):
        return _idempotent_unsafe(kind, action, user_id, key, request_hash)
    def once(session):
        """The whole unit, run again from the start if PostgreSQL aborts it (db.write_unit):
        lock, look up, act, store the key, all in one transaction."""
        connection = session.connection()
        if is_postgres(session):
            if not connection.scalar(TRY_LOCK, {"id": _advisory_lock_id(user_id, key)}):
                raise api_error(409, "idempotency_conflict",
                                "a request with this Idempotency-Key is still in progress", HEADER)
        stored = _stored(connection, user_id, key)
        if stored is not None:
            return stored
        try:
            status, body, movement_id = action(session, LOCKED)
        except Declined as declined:
            status, body, movement_id = 422, envelope(declined.code, declined.message), None
        _store(connection, user_id, key, request_hash, status, body, movement_id)
        return None, status, body

    stored_hash, status, body = db.write_unit(once)
    if stored_hash is not None:
        return _replay(stored_hash, request_hash, status, body)
    MONEY.labels(kind, "completed" if status < 400 else "declined").inc()
    return _respond(status, body, False)


def _replay(stored_hash: str, request_hash: str, status: int, body: dict):
    if stored_hash != request_hash:
        raise api_error(422, "idempotency_key_reused",
                        "this Idempotency-Key was used with a different request", HEADER)
    REPLAYS.inc()
    return _respond(status, body, True)


def _idempotent_unsafe(kind, action, user_id, key, request_hash):
    """TEACHING MODE (UNSAFE_LEDGER): the same work as `idempotent`, done wrong on purpose.

    Four separate transactions instead of one: look the key up; check the funds (no write
    lock, rolled back); write the movement without checking again; store the key. Concurrent
    requests all pass the check against the same balance (overdrafts), and concurrent or
    crashed duplicates of one key all miss the lookup (money moved twice).
    """
    session = db.session
    session.rollback()
    stored = _stored(session.connection(), user_id, key)  # 1. lookup, not atomic with 3.
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
            _store(session.connection(), user_id, key, request_hash, status, body, movement_id)
    except IntegrityError:
        pass  # a concurrent duplicate stored it first; this one moved money anyway
    MONEY.labels(kind, "completed" if status < 400 else "declined").inc()
    return _respond(status, body, False)
