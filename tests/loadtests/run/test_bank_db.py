"""The bank.db a run leaves in its report directory: one file, no write-ahead log."""
import sqlite3
import subprocess
import sys

from loadtests.run.bank import checkpoint_sqlite

# A writer that exits without closing, as gunicorn workers stopped by a signal do.
WRITER = """
import os, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE t (x)")
db.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(20000)])
db.commit()
os._exit(0)
"""


def test_checkpoint_folds_the_wal_into_the_database(tmp_path):
    path = tmp_path / "bank.db"
    subprocess.run([sys.executable, "-c", WRITER, str(path)], check=True)
    assert (tmp_path / "bank.db-wal").stat().st_size > 0
    checkpoint_sqlite(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bank.db"]
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM t").fetchone() == (20000,)
