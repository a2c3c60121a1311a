"""The database faults through the bank: a failed statement is a 503 envelope with
Retry-After, never a 500, and nothing half-written; serialization failures and deadlocks
are retried inside the server; a dropped connection is replaced (SQLite, or PostgreSQL
with BANKSIM_TEST_DATABASE_URL)."""
import os
import shutil
import subprocess
import time
import uuid

import psycopg.errors
import pytest
from sqlalchemy import event, insert, select, text
from sqlalchemy.exc import OperationalError

from bankapi.clock import utcnow
from bankapi.database.db import WRITE_ATTEMPTS, db
from bankapi.domain.audit import run_audit
from bankapi.database.engines import make_engine
from bankapi.models import IdempotencyKey


def transfer(alice, bob, key, amount=10_00):
    return alice.post("/transfers", key=key, json={
        "from_account_id": alice.account_id, "to_account_id": bob.account_id,
        "amount": amount, "currency": "GBP", "reference": "db fault"})


def failed_statements(app) -> list:
    """Every statement the database (or the fault) failed, recorded as SQLAlchemy sees it."""
    seen = []
    event.listen(db.engine_of(app), "handle_error", lambda context: seen.append(
        type(context.original_exception).__name__))
    return seen


def assert_unavailable(response):
    assert response.status_code == 503, response.json
    assert response.headers["Retry-After"] == "1"
    assert response.json["error"]["code"] == "service_unavailable"
    assert response.json["error"]["request_id"] == response.headers["X-Request-Id"]


@pytest.mark.parametrize("fault", [
    {"type": "db_error", "kind": "operational"},
    {"type": "db_error", "kind": "locked", "statement": "write"},
    {"type": "db_error", "kind": "serialization", "statement": "write"},
    {"type": "db_disconnect", "statement": "write"},
])
def test_a_failed_statement_is_a_503_and_nothing_is_written(
        app, client, admin_headers, rule, alice, bob, assert_nothing_written, fault):
    made = rule(fault, match={"path": "/transfers", "methods": ["POST"]})
    key = uuid.uuid4().hex
    assert_unavailable(transfer(alice, bob, key))
    assert_nothing_written()
    client.delete(f"/admin/chaos/rules/{made['id']}", headers=admin_headers)
    retry = transfer(alice, bob, key)  # the same key: the first attempt left no trace
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers
    assert alice.balance() == 90_00 and bob.balance() == 60_00
    with app.app_context():
        assert run_audit(db.session)["ok"]


def test_serialization_failures_are_retried_a_bounded_number_of_times(app, rule, alice, bob):
    rule({"type": "db_error", "kind": "serialization", "statement": "write"},
         match={"path": "/transfers"})
    failed = failed_statements(app)
    assert_unavailable(transfer(alice, bob, uuid.uuid4().hex))
    postgres = db.engine_of(app).dialect.name == "postgresql"
    # PostgreSQL: the whole unit ran WRITE_ATTEMPTS times; SQLite's "database is locked"
    # after its 30 s busy timeout is not worth waiting for again.
    assert len(failed) == (WRITE_ATTEMPTS if postgres else 1)


def test_a_unit_aborted_by_a_conflict_runs_again_and_commits_once(app, alice):
    """db.write_unit: the first attempt writes a row, then the database aborts it as a
    serialization failure; the second attempt's row is the only one committed."""
    attempts = []

    def unit(session):
        attempts.append(1)
        session.execute(insert(IdempotencyKey).values(
            user_id=alice.id, key=f"k{len(attempts)}", request_hash="h", response_status=201,
            response_body="{}", created=utcnow()))
        if len(attempts) == 1:
            raise OperationalError("INSERT", {}, psycopg.errors.SerializationFailure("x"))
        return "done"
    with app.test_request_context():
        assert db.write_unit(unit) == "done"
        keys = db.session.scalars(select(IdempotencyKey.key).where(
            IdempotencyKey.user_id == alice.id, IdempotencyKey.key.like("k%"))).all()
    assert len(attempts) == 2 and keys == ["k2"]


def test_other_database_errors_are_not_retried(app):
    attempts = []

    def unit(_session):
        attempts.append(1)
        raise OperationalError("SELECT", {}, Exception("disk I/O error"))
    with app.test_request_context(), pytest.raises(OperationalError):
        db.write_unit(unit)
    assert len(attempts) == 1


def test_db_latency_on_reads_answers_correctly_late(client, rule, alice):
    made = rule({"type": "db_latency", "ms": 100, "statement": "read"},
                match={"path": "/accounts/*/balance", "users": [alice.id]})
    started = time.monotonic()
    response = alice.get(f"/accounts/{alice.account_id}/balance")
    assert time.monotonic() - started >= 0.1  # at least one SELECT waited
    assert response.status_code == 200 and response.json["balance"] == 100_00
    assert response.headers["X-Chaos-Rule"] == made["id"]


def test_a_dropped_connection_is_replaced(app, client, rule, admin_headers, alice, bob):
    made = rule({"type": "db_disconnect"}, match={"path": "/accounts/*/balance"})
    for _ in range(3):
        assert_unavailable(alice.get(f"/accounts/{alice.account_id}/balance"))
    client.delete(f"/admin/chaos/rules/{made['id']}", headers=admin_headers)
    for _ in range(3):
        assert transfer(alice, bob, uuid.uuid4().hex, 1_00).status_code == 201
    assert alice.balance() == 97_00


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("chattr"),
                    reason="needs root and chattr to make a file immutable")
def test_a_sqlite_connection_that_met_a_storage_failure_is_thrown_away(tmp_path):
    """A connection whose write hit a read-only file may keep failing after the file is
    writable again: the pool must replace it, as after a dropped connection."""
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    files = [str(tmp_path / name) for name in ("x.db", "x.db-wal")]
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (a INTEGER)"))
        subprocess.run(["chattr", "+i", *files], check=True)
        with pytest.raises(OperationalError) as failed, engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))
        assert failed.value.connection_invalidated
    finally:
        subprocess.run(["chattr", "-i", *files], check=False)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (2)"))
    engine.dispose()
