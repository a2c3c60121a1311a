"""`banksim seed --sessions-out`: one device session per seeded customer, written for the
simulated phones, whose refresh tokens then work against `banksim serve` on that database.
Both commands run as a user runs them (subprocesses; only BANKSIM_DATABASE_URL set)."""
import json
import os
import stat
import subprocess
import sys

import pytest
import requests

from bankapi.domain import device_sessions
from bankapi.models import DeviceSession
from loadtests.run.bank import BankProcess, free_port
from seed.device_sessions import issue_sessions

pytestmark = pytest.mark.slow


def _env(url):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BANKSIM_", "PROMETHEUS_"))}
    return env | {"BANKSIM_DATABASE_URL": url}


def _seed(url, cwd, *args):
    result = subprocess.run([sys.executable, "-m", "banksim", "seed", "--months", "1", *args],
                            cwd=cwd, env=_env(url), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return " ".join(result.stdout.split())  # as one line, however rich wrapped it


def _read(path):
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return json.loads(path.read_text())["sessions"]


def _emails(count):
    return [f"user{n}@example.com" for n in range(1, count + 1)]


def test_seeded_sessions_refresh_against_a_served_bank(make_url, tmp_path):
    url = make_url()
    first, after_reset, skipped = (tmp_path / name for name in ("a.json", "c.json", "b.json"))
    out = _seed(url, tmp_path, "--users", "12", "--sessions-out", str(first))
    assert f"sessions: 12 written to {first}" in out
    dead = _read(first)
    assert [row["email"] for row in dead] == _emails(12)
    assert len({row["refresh_token"] for row in dead}) == 12
    _seed(url, tmp_path, "--users", "5", "--reset", "--sessions-out", str(after_reset))
    out = _seed(url, tmp_path, "--users", "8", "--skip-if-seeded", "--sessions-out",
                str(skipped))
    assert "not seeding" in out and "only 5 of user1..user8 exist" in out
    live = _read(after_reset) + _read(skipped)
    assert [row["email"] for row in live] == _emails(5) * 2

    bank = BankProcess(_env(url), free_port(), 2, tmp_path / "serve.log")
    try:
        bank.wait_healthy()
        refresh = lambda token: requests.post(  # noqa: E731
            f"{bank.url}/auth/refresh", json={"refresh_token": token}, timeout=30)
        assert {refresh(row["refresh_token"]).status_code for row in dead} == {401}
        for row in live:
            answer = refresh(row["refresh_token"])
            assert answer.status_code == 200, answer.text
            me = requests.get(f"{bank.url}/me", timeout=30, headers={
                "Authorization": f"Bearer {answer.json()['access_token']}"})
            assert me.json()["email"] == row["email"]
            assert refresh(row["refresh_token"]).status_code == 401  # single use
    finally:
        bank.stop()


def test_a_sessions_file_in_a_missing_folder_is_refused_before_seeding(make_url, tmp_path):
    url = make_url()
    result = subprocess.run([sys.executable, "-m", "banksim", "seed", "--users", "2",
                             "--months", "1", "--sessions-out", str(tmp_path / "no" / "s.json")],
                            cwd=tmp_path, env=_env(url), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode != 0 and "--sessions-out" in result.stderr
    assert "Traceback" not in result.stderr


def test_sessions_are_bulk_inserted_in_customer_order(seeded):
    _url, engine, stats = seeded
    issued = issue_sessions(engine, stats["users"], 3600)
    assert [row["email"] for row in issued] == _emails(stats["users"])
    with engine.connect() as connection:
        rows = connection.execute(DeviceSession.__table__.select()).all()
    assert len(rows) == stats["users"]
    assert {row.refresh_hash for row in rows} == {
        device_sessions.tokens.digest(row["refresh_token"]) for row in issued}
