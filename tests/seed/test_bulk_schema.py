"""The bulk load drops indexes (and, on PostgreSQL, keys) while it writes; the schema it
leaves behind must be the one `create_all` makes, constraints enforced again."""
import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from bankapi.models import Base

TABLES = ("transactions", "transfers", "monthly_spend", "accounts")


def _schema(engine) -> dict:
    inspector = inspect(engine)
    return {table: (inspector.get_pk_constraint(table)["constrained_columns"],
                    sorted((fk["constrained_columns"], fk["referred_table"])
                           for fk in inspector.get_foreign_keys(table)),
                    sorted((ix["name"], ix["column_names"]) for ix in inspector.get_indexes(table)))
            for table in TABLES}


def test_seeding_leaves_the_schema_create_all_makes(make_url, seed_into, tmp_path):
    engine, _ = seed_into(make_url())
    fresh = create_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    Base.metadata.create_all(fresh)
    assert _schema(engine) == _schema(fresh)
    with pytest.raises(IntegrityError), engine.begin() as connection:  # keys enforced again
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.execute(text(
            "INSERT INTO transactions (id, account_id, movement_id, amount, currency, kind,"
            " description, created) SELECT id, 'acc_nobody', 'm', 0, 'GBP', 'topup', 'x',"
            " created FROM transactions LIMIT 1"))
