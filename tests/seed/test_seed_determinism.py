"""The same seed gives the same bank, row for row; another seed gives another."""
from sqlalchemy import select

from bankapi.models import Base


def dump(engine) -> dict[str, list]:
    with engine.connect() as connection:
        return {table.name: sorted(tuple(row) for row in connection.execute(select(table)))
                for table in Base.metadata.sorted_tables}


def test_same_seed_gives_identical_rows(make_url, seed_into, frozen_clock):
    first = dump(seed_into(make_url(), seed_=7)[0])
    second = dump(seed_into(make_url(), seed_=7)[0])
    assert first["transactions"] and first["users"]
    for table in first:
        assert first[table] == second[table], table


def test_different_seed_gives_different_rows(make_url, seed_into, frozen_clock):
    first = dump(seed_into(make_url(), seed_=7)[0])
    second = dump(seed_into(make_url(), seed_=8)[0])
    for table in ("users", "accounts", "transactions", "transfers"):
        assert first[table] != second[table], table
