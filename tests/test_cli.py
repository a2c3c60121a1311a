"""The `banksim` command (the chaos and release HTTP commands are tested in tests/chaos)."""
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import update

from bankapi.cli import main
from bankapi.db import db
from bankapi.models import Account


def test_audit_passes_on_a_clean_ledger(database_url, monkeypatch):
    monkeypatch.setenv("BANKSIM_DATABASE_URL", database_url)
    result = CliRunner().invoke(main, ["audit"])
    assert result.exit_code == 0, result.output
    assert "balances_match_entries" in result.output and "ledger ok" in result.output


def test_audit_exits_1_on_a_corrupted_ledger(app, alice, database_url, monkeypatch):
    with app.app_context():
        db.session.execute(update(Account).where(Account.id == alice.account_id)
                           .values(balance=Account.balance + 7))
        db.session.commit()
    monkeypatch.setenv("BANKSIM_DATABASE_URL", database_url)
    result = CliRunner().invoke(main, ["audit"])
    assert result.exit_code == 1
    assert "FAIL" in result.output and alice.account_id in result.output


def test_seeding_twice_fails_unless_told_to_skip(database_url, monkeypatch):
    monkeypatch.setenv("BANKSIM_DATABASE_URL", database_url)
    monkeypatch.setenv("BANKSIM_PASSWORD_HASH", "pbkdf2:sha256:1000")
    seed = ["seed", "--users", "3", "--months", "1"]
    assert CliRunner().invoke(main, seed).exit_code == 0
    again = CliRunner().invoke(main, seed)
    assert again.exit_code == 1 and "already has 3 users" in again.output
    skipped = CliRunner().invoke(main, [*seed, "--skip-if-seeded"])
    assert skipped.exit_code == 0 and "nothing to do" in skipped.output


def test_release_publish_reports_unreachable_server(monkeypatch):
    monkeypatch.setenv("BANKSIM_URL", "http://127.0.0.1:9")
    result = CliRunner().invoke(main, ["release", "publish", "4.2.0"])
    assert result.exit_code == 1 and "cannot reach banksim" in result.output


@pytest.mark.slow
@pytest.mark.parametrize("mode", [["--dev"], ["--workers", "1"]])
def test_serve_prints_an_admin_token_and_answers(tmp_path, mode):
    env = {k: v for k, v in os.environ.items() if k != "BANKSIM_ADMIN_TOKEN"}
    env["BANKSIM_DATABASE_URL"] = f"sqlite:///{tmp_path / 'serve.db'}"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = open(tmp_path / "serve.log", "w+")
    server = subprocess.Popen([sys.executable, "-m", "bankapi", "serve", "--port", str(port),
                               *mode], env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        log.seek(0)
        token = re.search(r"admin token .*: (\S+)", log.read()).group(1)
        answer = requests.get(f"http://127.0.0.1:{port}/admin/chaos", timeout=5,
                              headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200 and answer.json()["enabled"] is True
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)
        log.close()
