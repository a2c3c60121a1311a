"""One-statement reads (balance, token check, /health) run outside any transaction, and
the connections they used go back to the pool ready for ordinary transactions. (On SQLite
the balance runs on the driver's own cursor: test_driver.py.)"""
from sqlalchemy import event

from bankapi import create_app, init_database, shutdown
from bankapi.database.db import db
ADMIN_TOKEN = "test-admin-token"  # as conftest.py


def _statements(app):
    """What the bank sends to its database, as the driver's cursor sees it, and whether
    the driver connection was in autocommit (PostgreSQL) when it did."""
    sent = []

    @event.listens_for(db.engine_of(app), "before_cursor_execute")
    def record(conn, _cursor, statement, *_):
        raw = conn.connection.dbapi_connection
        sent.append((statement.split(None, 1)[0].upper(), getattr(raw, "autocommit", None)))
    return sent


def _traced(app):
    """SQLite: every statement a connection opened from now on runs, as sqlite3 itself
    reports it (a statement sent outside SQLAlchemy included)."""
    sent = []
    engine = db.engine_of(app)
    engine.dispose()

    @event.listens_for(engine, "connect")
    def trace(dbapi_connection, _record):
        dbapi_connection.set_trace_callback(
            lambda statement: sent.append((statement.split(None, 1)[0].upper(), None)))
    return sent


def test_a_balance_read_is_one_statement_with_no_begin(app, client, alice):
    client.get("/health")  # the first request of a process also reads chaos rules, releases
    sqlite = db.engine_of(app).dialect.name == "sqlite"
    sent = _traced(app) if sqlite else _statements(app)
    response = alice.get(f"/accounts/{alice.account_id}/balance")
    assert response.status_code == 200 and response.json["balance"] == 100_00
    assert [kind for kind, _ in sent] == ["SELECT"]  # SQLite: no BEGIN before it either
    if db.engine_of(app).dialect.name == "postgresql":
        assert sent[0][1] is True  # autocommit: no BEGIN, no ROLLBACK round trips


def test_connections_used_by_reads_come_back_transactional(app, client, alice, bob):
    for _ in range(5):
        assert alice.get(f"/accounts/{alice.account_id}/balance").status_code == 200
        assert client.get("/health").status_code == 200
    with app.app_context():
        engine = db.engine_of(app)
        for _ in range(engine.pool.checkedin() + 1):
            with db.write() as session:
                raw = session.connection().connection.dbapi_connection
                if engine.dialect.name == "postgresql":
                    assert raw.autocommit is False
                else:
                    assert raw.in_transaction  # BEGIN IMMEDIATE was sent
    response = alice.post("/transfers", key="k1", json={
        "from_account_id": alice.account_id, "to_account_id": bob.account_id,
        "amount": 10_00, "currency": "GBP", "reference": "after reads"})
    assert response.status_code == 201, response.json
    assert alice.balance() == 90_00 and bob.balance() == 60_00


def test_single_read_transaction_puts_the_reads_back_in_the_request_session(database_url):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url,
                      "ADMIN_TOKEN": ADMIN_TOKEN, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                      "SINGLE_READ_TRANSACTION": True})
    init_database(app)
    try:
        client = app.test_client()
        client.get("/health")
        sent = _statements(app)
        assert client.get("/health").status_code == 200
        if db.engine_of(app).dialect.name == "sqlite":
            assert [kind for kind, _ in sent] == ["BEGIN", "SELECT"]
        else:
            assert [autocommit for _, autocommit in sent] == [False]
    finally:
        shutdown(app)
