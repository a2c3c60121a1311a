"""The bank of a run: `banksim serve` in a subprocess, a port for it, and the waits and
tidying around it (a drained queue before the audit, one database file afterwards)."""
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import requests

from loadtests.run.children import Children
from loadtests.run.database_guard import RunRefused

DRAIN_LIMIT_S = 300  # how long an overloaded bank may take to finish its queue after a run


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def check_port(port: int) -> None:
    """RunRefused when the bank could not listen on 127.0.0.1:`port` (binding as gunicorn
    does, so a port a finished run just let go of is free again)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as error:
            raise RunRefused(f"--port {port}: the bank cannot listen on 127.0.0.1:{port} "
                             f"({error.strerror or error}); pick another port, or leave "
                             f"--port out for a free one") from None


class BankProcess:
    """`banksim serve` in a subprocess (its own process group), logging to a file.

    A run hands in its `Children`, which stop the bank with everything else it started;
    alone (tests, benchmarks) the bank has its own, and `stop()` ends it."""

    def __init__(self, env: dict, port: int, workers: int, log_path: Path,
                 children: Children | None = None, threads: int = 8):
        self.url, self.log_path = f"http://127.0.0.1:{port}", log_path
        self.children = children or Children()
        with open(log_path, "w") as log:
            self.process = self.children.start(
                [sys.executable, "-m", "banksim", "serve", "--port", str(port),
                 "--workers", str(workers), "--threads", str(threads)],
                env=env, stdout=log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        self.children.stop_all([self.process])

    def wait_healthy(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the bank exited with {self.process.returncode}; "
                                   f"see {self.log_path}")
            try:
                if requests.get(self.url + "/health", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the bank did not become healthy in {timeout_s} s")


def wait_until_drained(url: str, limit_s: float = DRAIN_LIMIT_S, clock=time.monotonic):
    """Wait until /health answers within a second again, so the audit does not queue
    behind the requests an overloaded bank still works through after the phones gave
    up on them; None when it answered at once, else the seconds it took (or limit_s)."""
    started = clock()
    while clock() - started < limit_s:
        try:
            if requests.get(url + "/health", timeout=1).ok:
                waited = clock() - started
                return None if waited < 1 else round(waited, 1)
        except requests.RequestException:
            pass
        time.sleep(1)
    return limit_s


def checkpoint_sqlite(path: Path) -> None:
    """Fold the bank's write-ahead log into bank.db, so the report directory holds one
    database file (no multi-MB bank.db-wal); the last connection to close removes it."""
    if not path.exists():
        return
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
