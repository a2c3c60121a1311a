"""The balance read on the driver's own cursor (`bankapi/database/driver.py`): the same row as
SQLAlchemy's, SQLAlchemy's path whenever the driver path would miss something, and a
fresh connection after a driver failure."""
import datetime

import pytest
from sqlalchemy import event, select
from sqlalchemy.dialects import postgresql, sqlite

from bankapi.clock import utcnow
from bankapi.database.db import db
from bankapi.domain.ledger import BALANCE_QUERY
from bankapi.database.driver import DriverFailed, plan
from bankapi.models import Account


def _params(account_id):
    midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    return {"account_id": account_id, "midnight": midnight}


def test_the_driver_returns_the_row_sqlalchemy_returns(app, alice, bob):
    alice.post("/payments", json={"account_id": alice.account_id, "amount": 12_34,
                                  "merchant": "Pret", "category": "eating_out"}, key="p1")
    engine = db.engine_of(app)
    for account_id in (alice.account_id, bob.account_id, "acc_missing"):
        with engine.connect() as connection:
            expected = connection.execute(BALANCE_QUERY.statement, _params(account_id)).first()
        row = BALANCE_QUERY.first(engine, _params(account_id))
        assert row == (tuple(expected) if expected is not None else None)
    assert BALANCE_QUERY.first(engine, _params(alice.account_id))[2:] == (
        100_00 - 12_34, 12_34, "GBP", -12_34)  # ledger balance (available), held, ...


def test_a_plan_lays_out_literals_and_converted_parameters_in_the_statements_order():
    midnight = datetime.datetime(2026, 11, 30)
    positional = plan(BALANCE_QUERY.statement, sqlite.dialect())
    # SQLite stores dates as text: the type's own bind processor turns the datetime into it
    assert positional.arguments({"account_id": "acc_1", "midnight": midnight}) == (
        0, 0, "2026-11-30 00:00:00.000000", "acc_1")
    named = plan(BALANCE_QUERY.statement, postgresql.dialect())
    assert named.order is None and named.arguments({"account_id": "acc_1", "midnight": midnight}) \
        == {"coalesce_2": 0, "amount_1": 0, "account_id": "acc_1", "midnight": midnight}


def test_a_statement_sqlalchemy_must_finish_is_refused():
    with pytest.raises(ValueError, match="created"):  # a SQLite date comes back as text
        plan(select(Account.__table__), sqlite.dialect())


def _balance_reads_through_sqlalchemy(app):
    """A list that grows by one each time SQLAlchemy sends the balance query."""
    engine, sent = db.engine_of(app), []
    balance_sql = plan(BALANCE_QUERY.statement, engine.dialect).sql
    event.listen(engine, "before_cursor_execute", lambda _conn, _cursor, statement, *_: (
        sent.append("balance") if statement == balance_sql else None))
    return sent


def test_on_sqlite_the_balance_bypasses_sqlalchemy_and_on_postgresql_it_does_not(app, alice):
    alice.get("/health")
    sent = _balance_reads_through_sqlalchemy(app)
    assert alice.balance() == 100_00
    assert sent == ([] if db.engine_of(app).dialect.name == "sqlite" else ["balance"])


def test_a_database_fault_sends_the_balance_through_sqlalchemy(app, alice, rule):
    alice.get("/health")
    rule({"type": "db_latency", "ms": 1}, match={"path": "/accounts/*/balance"})
    sent = _balance_reads_through_sqlalchemy(app)
    assert alice.balance() == 100_00
    assert sent == ["balance"]  # where the fault's engine hook meets it


def _break_the_next_checkout(engine) -> list:
    """The next connection the pool hands out has its driver connection closed under it
    (as after a failover); the list receives that driver connection."""
    broken = []

    def close_once(dbapi_connection, _record, _proxy):
        if not broken:
            broken.append(dbapi_connection)
            dbapi_connection.close()
    event.listen(engine, "checkout", close_once)
    return broken


def test_a_failing_driver_connection_is_thrown_away_and_sqlalchemy_answers(app, alice):
    engine = db.engine_of(app)
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL reads the balance through SQLAlchemy")
    alice.get("/health")
    broken = _break_the_next_checkout(engine)
    with pytest.raises(DriverFailed):
        BALANCE_QUERY.first(engine, _params(alice.account_id))
    pooled = [engine.raw_connection() for _ in range(engine.pool.checkedin())]
    assert broken and all(c.driver_connection is not broken[0] for c in pooled)  # thrown away
    for connection in pooled:
        connection.close()

    broken = _break_the_next_checkout(engine)
    sent = _balance_reads_through_sqlalchemy(app)
    assert alice.balance() == 100_00  # the driver failed, SQLAlchemy read it on a fresh one
    assert broken and sent == ["balance"]
