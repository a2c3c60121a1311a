"""SQLite's storage failing under the bank (`banksim serve --workers 2`), mid-run: the
database file turned read-only, or the disk holding it full. Clients get clean 503s (never
a 500), every acknowledged transfer is in the ledger once, unknown outcomes settle once the
storage is back, and the file is intact (`PRAGMA integrity_check`, `banksim audit`).

Read-only is `chattr +i` on the database and its WAL (as root, chmod would not stop the
server's writes; the immutable flag stops them even through open files). Full is a 24 MB
tmpfs of the test's own, filled with a file. Both need root; otherwise they are skipped."""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from tests.reliability.bank_jepsen import Workload, all_transfers, check, customer_money, log_in

USERS = 6


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=30, check=False)


def fill(path: Path) -> None:
    """Write zeros until the filesystem is full (it may be already: the bank's own writes,
    its WAL above all, can fill a small one first)."""
    try:
        handle = open(path, "wb")
    except OSError:
        return
    with handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass


class ReadOnly:
    """The database files immutable: every write to them fails, even through open files."""

    def __init__(self, tmp_path):
        self.where = tmp_path / "db"
        self.where.mkdir()

    def files(self) -> list[str]:
        """The database and its WAL: the data. (Not the -shm index, which every process maps
        into memory: an immutable mapping kills its process with SIGBUS, no read-only
        file's behaviour.)"""
        return [str(self.where / name) for name in ("bank.db", "bank.db-wal")
                if (self.where / name).exists()]

    def fail(self) -> None:
        made = run("chattr", "+i", *self.files())
        assert made.returncode == 0, made.stderr

    def repair(self) -> None:
        run("chattr", "-i", *self.files())

    def remove(self) -> None:
        self.repair()


class FullDisk:
    """A small filesystem of its own, filled to the last byte."""

    def __init__(self, _tmp_path):
        self.where = Path(tempfile.mkdtemp(prefix="banksim-disk-"))
        made = run("mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(self.where))
        if made.returncode != 0:
            self.where.rmdir()
            pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")

    def fail(self) -> None:
        fill(self.where / "filler")

    def repair(self) -> None:
        (self.where / "filler").unlink(missing_ok=True)

    def remove(self) -> None:
        run("umount", "-l", str(self.where))
        shutil.rmtree(self.where, ignore_errors=True)


@pytest.fixture(params=[ReadOnly, FullDisk], ids=["read-only", "disk-full"])
def storage(request, tmp_path):
    if os.environ.get("BANKSIM_TEST_DATABASE_URL"):
        pytest.skip("a SQLite storage test (the SQLite pass runs it)")
    if os.geteuid() != 0 or not (shutil.which("chattr") and shutil.which("mount")):
        pytest.skip("needs root, chattr and mount")
    storage = request.param(tmp_path)
    try:
        yield storage
    finally:
        storage.remove()


@pytest.mark.slow
def test_storage_failures_give_503s_and_an_intact_file(storage, bank_server):
    database = storage.where / "bank.db"
    url = f"sqlite:///{database}"
    server = bank_server(url=url)
    try:
        server.seed(USERS, months=1)
        before = customer_money(url)
        server.start()
        workload = Workload(server.url, log_in(server.url, USERS), threads=3, duration_s=8,
                            median_balance=before["median_current"])
        workload.start()
        time.sleep(2)
        storage.fail()
        time.sleep(3)
        storage.repair()
        workload.join()
        audit = server.admin("GET", "/admin/audit").json()
        transfers = all_transfers(server.url, server.admin_headers)
    finally:
        server.stop()
    after = customer_money(url)
    operations = workload.operations
    seen = dict(workload.client_faults)
    results = {name: sum(op.result == name for op in operations)
               for name in ("ok", "fail", "unknown")}
    print(f"\nsqlite {type(storage).__name__}: {len(operations)} operations ({results}), "
          f"clients saw {seen}")

    assert not check(operations, transfers, audit, before, after)
    assert "http_500" not in seen and seen.get("http_503", 0) > 0, seen
    assert results["unknown"] == 0 and results["ok"] > 10, results
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    audited = subprocess.run([sys.executable, "-m", "banksim", "audit"], env=server.env,
                             capture_output=True, text=True, timeout=120, check=False)
    assert audited.returncode == 0, audited.stdout + audited.stderr
