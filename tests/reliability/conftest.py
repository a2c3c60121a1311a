"""Fixtures for the reliability tests: a seeded bank served by real gunicorn subprocesses
on 127.0.0.1 (SQLite in tmp_path, or BANKSIM_TEST_DATABASE_URL), which a test may SIGKILL
and restart on the same database."""
import os
import signal
import subprocess
import sys

import pytest
import requests

from loadtests.run.bank import BankProcess, free_port

ADMIN_TOKEN = "reliability-admin-token"


class BankServer:
    """`banksim serve --workers 2` on a fixed port, killable and restartable."""

    def __init__(self, tmp_path, database_url: str, extra_env: dict | None = None):
        self.tmp_path, self.port, self.starts = tmp_path, free_port(), 0
        # As a user runs it: none of the test runner's BANKSIM_* or prometheus settings.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("BANKSIM_") and k != "PROMETHEUS_MULTIPROC_DIR"}
        self.env = {**env, "BANKSIM_DATABASE_URL": database_url,
                    "BANKSIM_ADMIN_TOKEN": ADMIN_TOKEN, "BANKSIM_ACCESS_LOG": "0",
                    **(extra_env or {})}
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        self.process: BankProcess | None = None

    def seed(self, users: int, months: int = 1) -> None:
        result = subprocess.run([sys.executable, "-m", "banksim", "seed", "--users", str(users),
                                 "--months", str(months), "--reset"], env=self.env,
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stderr[-2000:]

    def start(self) -> None:
        self.starts += 1
        self.process = BankProcess(self.env, self.port, 2,
                                   self.tmp_path / f"server-{self.starts}.log")
        self.process.wait_healthy(60)

    def crash(self) -> None:
        """SIGKILL the master and every worker at once: no graceful anything."""
        os.killpg(self.process.process.pid, signal.SIGKILL)
        self.process.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.process.poll() is None:
            self.process.stop()

    def admin(self, method: str, path: str, **kw) -> requests.Response:
        response = requests.request(method, self.url + path, headers=self.admin_headers,
                                    timeout=30, **kw)
        assert response.ok, response.text
        return response


@pytest.fixture
def bank_server(tmp_path, database_url):
    """Build with `bank_server(extra_env)` (on another database: `url=`); every server
    started is killed at teardown."""
    servers = []

    def make(extra_env: dict | None = None, url: str | None = None) -> BankServer:
        server = BankServer(tmp_path, url or database_url, extra_env)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
