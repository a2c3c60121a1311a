"""`banksim incident` and `banksim compare` reset the database they seed: never one that
holds someone else's data unless told `--reset-database`; always an empty one or one an
earlier run left. Also the bank's `--port`. Run as a user runs them, with
BANKSIM_DATABASE_URL exported as the README's Scaling-out section says (SQLite, or
PostgreSQL in the PostgreSQL pass)."""
import json
import os
import socket
import subprocess

import pytest
from tests.helpers.loadrun import BANKSIM
from sqlalchemy import create_engine, text

from loadtests.run.bank import free_port

RUN = ["--users", "5", "--duration", "10s"]


def banksim(database_url, *args, timeout=240):
    env = {**os.environ, "BANKSIM_DATABASE_URL": database_url}
    env.pop("BANKSIM_ADMIN_TOKEN", None)
    return subprocess.run([str(BANKSIM), *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def customers(database_url) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.scalar(text("SELECT count(*) FROM users"))
    finally:
        engine.dispose()


def said(result) -> str:
    return " ".join((result.stdout + result.stderr).split())


@pytest.mark.parametrize("command", [["incident", *RUN],
                                     ["compare", "--vary", "client_policy=none,naive", *RUN]])
def test_a_database_someone_seeded_is_refused_and_kept(database_url, tmp_path, command):
    seeded = banksim(database_url, "seed", "--users", "50", "--months", "1")
    assert seeded.returncode == 0, seeded.stderr
    out = tmp_path / "report"
    result = banksim(database_url, *command, "--out", str(out), timeout=120)
    assert result.returncode == 2, said(result)[-2000:]
    assert "holds data banksim incident did not put there" in said(result)
    assert "users: 50 rows" in said(result)
    assert "--reset-database" in said(result)  # says how
    assert customers(database_url) == 50
    assert not out.exists()


@pytest.mark.slow
def test_an_empty_database_and_an_earlier_run_s_are_reset_a_reseeded_one_is_not(
        database_url, tmp_path):
    port = free_port()
    first = banksim(database_url, "incident", *RUN, "--port", str(port),
                    "--out", str(tmp_path / "first"))
    assert first.returncode in (0, 1), said(first)[-3000:]
    assert f"bank up at http://127.0.0.1:{port};" in said(first)
    # the second run on the open model: journeys arrive at a rate (on PostgreSQL too)
    again = banksim(database_url, "incident", *RUN, "--load-model", "open", "--rate", "3",
                    "--out", str(tmp_path / "again"))
    assert again.returncode in (0, 1), said(again)[-3000:]
    assert customers(database_url) == 5
    load = json.loads((tmp_path / "again" / "report.json").read_text())["load"]
    assert load["model"] == "open" and load["rate"] == 3 and load["started"] > 0
    reseeded = banksim(database_url, "seed", "--reset", "--users", "5", "--months", "1")
    assert reseeded.returncode == 0, reseeded.stderr
    refused = banksim(database_url, "incident", *RUN, "--out", str(tmp_path / "refused"))
    assert refused.returncode == 2, said(refused)[-2000:]
    assert "was an earlier banksim incident run's, but it changed since" in said(refused)
    assert "--reset-database" in said(refused)
    assert not (tmp_path / "refused").exists()


@pytest.mark.parametrize("command", [["incident", *RUN],
                                     ["compare", "--vary", "client_policy=none,naive", *RUN]])
def test_a_busy_port_is_refused_before_anything_starts(tmp_path, command):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = tmp_path / "report"
        result = banksim(f"sqlite:///{tmp_path / 'bank.db'}", *command, "--port", str(port),
                         "--out", str(out), timeout=120)
    assert result.returncode == 2, said(result)[-2000:]
    assert f"--port {port}: the bank cannot listen on 127.0.0.1:{port}" in said(result)
    assert not out.exists() and not (tmp_path / "bank.db").exists()


@pytest.mark.parametrize("url", ["not a url", "postgresql+psycopg://postgres:secret@127.0.0.1:1/x"])
def test_a_database_that_cannot_be_checked_is_one_line_not_a_traceback(tmp_path, url):
    result = banksim(url, "incident", *RUN, "--out", str(tmp_path / "report"), timeout=120)
    assert result.returncode == 2, said(result)[-2000:]
    assert "Traceback" not in result.stderr and "secret" not in result.stderr
    assert "BANKSIM_DATABASE_URL" in result.stderr
    assert not (tmp_path / "report").exists()
