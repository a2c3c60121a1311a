"""Idempotency keys: a money movement's answer, stored in the movement's own transaction.

Either both the movement and its key are committed or neither is, so a client that lost
the answer (connection reset after commit) retries with the key and gets the stored answer
back, never a second movement. `bankapi.web.idempotency` runs the unit around a view.

Concurrency: on PostgreSQL a transaction-scoped advisory lock on (user, key) is tried
first; a request that finds it held is refused as a Conflict (still in progress). On
SQLite `BEGIN IMMEDIATE` already serialises writers, so a concurrent duplicate waits for
the first to commit and finds its stored answer. Keys and hashes are read and written with
Core statements on the transaction's connection (no ORM object to flush).
"""
import hashlib
import json

from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..database.engines import is_postgres
from ..models import IdempotencyKey
from .errors import Conflict, Unprocessable

HEADER = "Idempotency-Key"  # the field a refusal names
KEYS = IdempotencyKey.__table__
STORED = select(KEYS.c.request_hash, KEYS.c.response_status, KEYS.c.response_body).where(
    KEYS.c.user_id == bindparam("user"), KEYS.c.key == bindparam("idempotency_key"))
STORE = insert(KEYS)
TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(:id)")


def advisory_lock_id(user_id: str, key: str) -> int:
    digest = hashlib.blake2b(f"{user_id}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def claim(session: Session, user_id: str, key: str) -> None:
    """Take the key for this transaction (PostgreSQL); Conflict while another holds it."""
    if is_postgres(session) and not session.connection().scalar(
            TRY_LOCK, {"id": advisory_lock_id(user_id, key)}):
        raise Conflict("a request with this Idempotency-Key is still in progress", HEADER,
                       code="idempotency_conflict")


def stored(connection: Connection, user_id: str, key: str) -> tuple[str, int, dict] | None:
    """(request_hash, status, body) stored for the key, or None."""
    row = connection.execute(STORED, {"user": user_id, "idempotency_key": key}).first()
    return None if row is None else (row[0], row[1], json.loads(row[2]))


def store(connection: Connection, user_id: str, key: str, request_hash: str, status: int,
          body: dict, movement_id: str | None) -> None:
    connection.execute(STORE, {"user_id": user_id, "key": key, "request_hash": request_hash,
                               "response_status": status, "response_body": json.dumps(body),
                               "movement_id": movement_id, "created": utcnow()})


def check_same_request(stored_hash: str, request_hash: str) -> None:
    """A key answers only the request it was first used with."""
    if stored_hash != request_hash:
        raise Unprocessable("this Idempotency-Key was used with a different request", HEADER,
                            code="idempotency_key_reused")
