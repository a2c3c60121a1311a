"""The database faults (db_latency, db_error, db_disconnect) through the tiny app: its
POST /notes writes two rows in one transaction, GET /notes reads them, on the store's
own engine (SQLite, or BANKSIM_TEST_DATABASE_URL)."""
import random

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from chaos import database
from chaos.faults import build_fault


@pytest.fixture
def rule(client):
    def create(fault, **fields):
        response = client.post("/admin/chaos/rules", json={"fault": fault, **fields})
        assert response.status_code == 201, response.json
        return response.json
    return create


@pytest.fixture
def holds(app, monkeypatch):
    """The seconds of every hold the middleware's engine was asked for."""
    engine = app.extensions["chaos.middleware"].decider
    seen, real = [], engine.hold

    def spy(rule_id, seconds):
        seen.append(seconds)
        return real(rule_id, seconds)
    monkeypatch.setattr(engine, "hold", spy)
    return seen


def notes(client) -> int:
    response = client.get("/notes")
    assert response.status_code == 200, response.json
    return response.json["notes"]


@pytest.mark.parametrize("fault, field", [
    ({"type": "db_latency"}, "fault.ms"),
    ({"type": "db_latency", "ms": -1}, "fault.ms"),
    ({"type": "db_latency", "ms": 5, "statement": "ddl"}, "fault.statement"),
    ({"type": "db_error"}, "fault.kind"),
    ({"type": "db_error", "kind": "tired"}, "fault.kind"),
    ({"type": "db_disconnect", "statement": "both"}, "fault.statement"),
    ({"type": "db_disconnect", "ms": 5}, "fault.ms"),
])
def test_bad_settings_are_refused_naming_the_field(client, fault, field):
    response = client.post("/admin/chaos/rules", json={"fault": fault})
    assert response.status_code == 400
    assert response.json["error"]["field"] == field


def test_a_database_fault_cannot_act_after_the_request(client):
    response = client.post("/admin/chaos/rules", json={
        "fault": {"type": "db_disconnect"}, "phase": "after"})
    assert response.status_code == 400 and response.json["error"]["field"] == "phase"


def test_statement_kinds():
    assert database.statement_kind("SELECT 1") == "read"
    assert database.statement_kind("  with x as (select 1) select * from x") == "read"
    assert database.statement_kind("INSERT INTO t VALUES (1)") == "write"
    assert database.statement_kind("update t set a = 1") == "write"
    assert database.statement_kind("DELETE FROM t") == "write"
    assert database.statement_kind("BEGIN IMMEDIATE") is None


def test_db_latency_holds_each_matching_statement_and_answers(client, rule, holds):
    made = rule({"type": "db_latency", "ms": 30, "statement": "write"},
                match={"path": "/notes"})
    before = notes(client)
    assert holds == []  # a read: not this rule's statements
    response = client.post("/notes")
    assert response.status_code == 201 and response.headers["X-Chaos-Rule"] == made["id"]
    assert holds == [0.03, 0.03]  # the two INSERTs, nothing else
    assert notes(client) == before + 2


def test_db_latency_without_statement_slows_every_statement(client, rule, holds):
    rule({"type": "db_latency", "ms": 10}, match={"path": "/notes"})
    assert client.post("/notes").status_code == 201
    assert client.get("/notes").status_code == 200
    assert holds == [0.01] * 3  # two INSERTs and a SELECT


@pytest.mark.parametrize("kind", ["operational", "serialization", "locked"])
def test_db_error_is_a_503_and_nothing_is_half_written(client, rule, store, kind):
    made = rule({"type": "db_error", "kind": kind, "statement": "write"},
                match={"path": "/notes", "methods": ["POST"]})
    before = notes(client)
    response = client.post("/notes")
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert response.headers["X-Chaos-Rule"] == made["id"]
    assert notes(client) == before
    store.flush()
    assert store.get_rule(made["id"])["stats"]["injected"] == 1
    assert store.events()[0]["fault"] == "db_error"


def test_db_error_on_reads_leaves_writes_alone(client, rule):
    rule({"type": "db_error", "kind": "locked", "statement": "read"}, match={"path": "/notes"})
    assert client.post("/notes").status_code == 201
    assert client.get("/notes").status_code == 503


def test_db_disconnect_drops_the_connection_and_the_pool_recovers(client, rule, store):
    made = rule({"type": "db_disconnect", "statement": "write"},
                match={"path": "/notes", "methods": ["POST"]})
    before = notes(client)
    response = client.post("/notes")
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert notes(client) == before  # the first INSERT went with the connection
    client.delete(f"/admin/chaos/rules/{made['id']}")
    for _ in range(3):  # every pooled connection is usable again
        assert client.post("/notes").status_code == 201
    assert notes(client) == before + 6


def test_the_driver_raises_its_own_exception(store):
    engine = store.engine
    database.hook([engine])
    fault = build_fault({"type": "db_error", "kind": "serialization"})
    with database.activated(fault, random.Random(1), lambda _s: True):
        with pytest.raises(DBAPIError) as raised, engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    name = type(raised.value.orig).__name__
    if engine.dialect.name == "postgresql":
        assert name in ("SerializationFailure", "DeadlockDetected")
        assert raised.value.orig.sqlstate in ("40001", "40P01")
    else:
        assert (name, str(raised.value.orig)) == ("OperationalError", "database is locked")


def test_chaos_own_queries_are_never_faulted(store):
    """The store shares the faulted engine, and is asked mid-request (a held statement
    checks its rule still applies): its statements pass."""
    database.hook([store.engine])
    fault = build_fault({"type": "db_error", "kind": "operational"})
    with database.activated(fault, random.Random(1), lambda _s: True):
        assert store.status()["enabled"] is True
        store.revision()
        with pytest.raises(DBAPIError), store.engine.connect() as connection:
            connection.execute(text("SELECT 1"))


def test_the_kill_switch_ends_db_faults(client, rule):
    rule({"type": "db_error", "kind": "operational"}, match={"path": "/notes"})
    assert client.get("/notes").status_code == 503
    client.post("/admin/chaos/disable")
    assert client.get("/notes").status_code == 200


def test_once_a_hold_is_cut_short_the_later_statements_run_at_once(app, client, rule,
                                                                    monkeypatch):
    """A disable ends the request's delay, not only the statement it caught."""
    rule({"type": "db_latency", "ms": 30, "statement": "write"}, match={"path": "/notes"})
    seen = []

    def cut_short(_rule_id, seconds):
        seen.append(seconds)
        return False  # as when the rule stopped applying during the hold
    monkeypatch.setattr(app.extensions["chaos.middleware"].decider, "hold", cut_short)
    assert client.post("/notes").status_code == 201
    assert seen == [0.03]  # the second INSERT was not held


@pytest.mark.parametrize("ms, held", [(60_000, [60.0]), (25_000, [25.0, 25.0, 10.0])])
def test_a_request_waits_60_s_in_all_at_most(ms, held):
    fault, seen = build_fault({"type": "db_latency", "ms": ms}), []
    active = database.Active(fault, random.Random(1), lambda s: seen.append(s) or True)
    for _ in range(5):
        fault.on_statement(None, None, active)
    assert seen == held
