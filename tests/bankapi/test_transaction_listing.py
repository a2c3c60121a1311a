"""GET /accounts/{id}/transactions reads an index range, whatever the bank's size: the
query a request really sends is explained (EXPLAIN QUERY PLAN on SQLite, EXPLAIN on
PostgreSQL) for the first page, a cursor page and each filter; and `before` combines
with the cursor."""
from urllib.parse import quote

import pytest
from sqlalchemy import event

from bankapi.database.db import db

INDEX = "ix_transactions_account_created"


@pytest.fixture
def listing_sql(app):
    """The statements sent to the database while the block runs: [(sql, parameters)]."""
    seen = []

    def record(_conn, _cursor, statement, parameters, _context, _many):
        if "FROM transactions" in statement and "ORDER BY" in statement:
            seen.append((statement, parameters))
    engine = db.engine_of(app)
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def _plan(app, statement, parameters) -> str:
    raw = db.engine_of(app).raw_connection()
    try:
        cursor = raw.cursor()
        if db.engine_of(app).dialect.name == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            return "\n".join(row[-1] for row in cursor.fetchall())
        # tiny test tables make a sequential scan cheapest; rule it out, but not the
        # sort: if the index could not give the order, the plan would sort
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("SET enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + statement, parameters)
        return "\n".join(row[0] for row in cursor.fetchall())
    finally:
        raw.rollback()
        raw.close()


def _assert_index_range(app, sql, keyset: bool) -> None:
    statement, parameters = sql[-1]
    plan = _plan(app, statement, parameters)
    if db.engine_of(app).dialect.name == "sqlite":
        assert f"SEARCH transactions USING INDEX {INDEX} (account_id=?" in plan, plan
        assert "TEMP B-TREE" not in plan, plan
        assert ("(created,id)<(?,?)" in plan) == keyset, plan
    else:
        assert f"Index Scan Backward using {INDEX}" in plan, plan
        assert "Sort" not in plan, plan
        condition = next(line for line in plan.splitlines() if "Index Cond" in line)
        assert ("ROW(created, " in condition) == keyset, plan


@pytest.fixture
def history(alice):
    for n in range(6):
        alice.post("/payments", key=f"p{n}", json={
            "account_id": alice.account_id, "amount": 100 + n, "merchant": "Shop",
            "category": "groceries" if n % 2 else "transport"})
    return f"/accounts/{alice.account_id}/transactions"


@pytest.mark.parametrize("query,keyset", [
    ("?limit=2", False),
    ("?limit=2&category=groceries", False),
    ("?limit=2&since=2000-01-01T00:00:00Z", False),
    ("?limit=2&before=2100-01-01T00:00:00Z", True),
    ("?limit=2&since=2000-01-01T00:00:00Z&category=transport", False),
])
def test_every_page_is_an_index_range(app, alice, history, listing_sql, query, keyset):
    first = alice.get(history + query).json
    _assert_index_range(app, listing_sql, keyset)
    assert first["next_cursor"]
    second = alice.get(history + query + f"&cursor={first['next_cursor']}").json
    assert second["transactions"]
    _assert_index_range(app, listing_sql, keyset=True)


def test_before_and_the_cursor_together(alice, history):
    """The tighter of the two bounds wins, whichever it is."""
    everything = alice.get(history + "?limit=100").json["transactions"]
    future, past = quote("2100-01-01T00:00:00Z"), quote("2000-01-01T00:00:00Z")
    served, cursor = [], ""
    for _ in range(10):
        body = alice.get(history + f"?limit=2&before={future}{cursor}").json
        served += body["transactions"]
        if not body["next_cursor"]:
            break
        cursor = f"&cursor={body['next_cursor']}"
    assert [t["id"] for t in served] == [t["id"] for t in everything]
    first = alice.get(history + "?limit=2").json
    assert alice.get(history + f"?limit=2&before={past}&cursor={first['next_cursor']}"
                     ).json == {"transactions": [], "next_cursor": None}
