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
import click
from click.testing import CliRunner
from sqlalchemy import update

from banksim.cli import main
from bankapi.database.db import db
from bankapi.models import Account


def test_audit_passes_on_a_clean_ledger(app, database_url, monkeypatch):
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
    server = subprocess.Popen([sys.executable, "-m", "banksim", "serve", "--port", str(port),
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


def banksim(*args, cwd, **env):
    """The `banksim` command as a user runs it, in `cwd`, with only the variables given
    (plus the inherited environment without any BANKSIM_ setting)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BANKSIM_")}
    return subprocess.run([sys.executable, "-m", "banksim", *args], cwd=cwd, env=clean | env,
                          capture_output=True, text=True, timeout=60)


def assert_short_error(result, *needles):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) <= 2
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_audit_in_an_empty_directory_exits_2_and_creates_nothing(tmp_path):
    result = banksim("audit", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "no database" in result.stderr and "banksim seed" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("url, needles", [
    ("not a url", ["BANKSIM_DATABASE_URL", "sqlite:///banksim.db"]),
    ("nosuchdb://x/y", ["BANKSIM_DATABASE_URL", "postgresql+psycopg://"]),
    ("postgresql+pg8000://postgres@127.0.0.1/x", ["pg8000", "banksim[postgres]"]),
    ("postgresql+psycopg://postgres:hunter2@127.0.0.1:9/x", ["Cannot use the database",
                                                            "***", "server is running"]),
])
def test_database_errors_are_one_or_two_lines(tmp_path, url, needles):
    result = banksim("audit", cwd=tmp_path, BANKSIM_DATABASE_URL=url)
    assert_short_error(result, *needles)
    assert "hunter2" not in result.stderr


def test_seed_without_the_postgres_driver_names_the_extra(tmp_path):
    result = banksim("seed", cwd=tmp_path, BANKSIM_DATABASE_URL="postgresql+pg8000://h/x")
    assert_short_error(result, "pip install", "banksim[postgres]")


def test_seed_refusal_names_the_flag_as_typed(tmp_path):
    url = f"sqlite:///{tmp_path / 'bank.db'}"
    seed = ["seed", "--users", "2", "--months", "1"]
    assert banksim(*seed, cwd=tmp_path, BANKSIM_DATABASE_URL=url).returncode == 0
    again = banksim(*seed, cwd=tmp_path, BANKSIM_DATABASE_URL=url)
    assert_short_error(again, "use --reset to replace them")
    assert "reset=True" not in again.stderr


def test_serve_on_a_busy_port_fails_in_one_line_before_announcing_itself(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = banksim("serve", "--port", port, cwd=tmp_path)
    assert_short_error(result, f"127.0.0.1:{port}", "--port")
    assert "banksim on" not in result.stdout and "admin token" not in result.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["serve", "seed", "audit"])
def test_help_names_the_database(command, tmp_path):
    result = banksim(command, "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "BANKSIM_DATABASE_URL" in result.stdout and "./banksim.db" in result.stdout


def test_load_commands_say_how_to_install_the_extra_when_it_is_missing(monkeypatch):
    import importlib.util

    import banksim.cli as cli
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "locust" else real(name, *a))
    commands = {command.name: command for command in cli._load_commands()}
    assert set(commands) == {"incident", "loadtest", "compare", "report"}
    result = CliRunner().invoke(commands["incident"], ["--users", "5"])
    assert result.exit_code == 1
    assert "locust not installed" in result.output
    assert "pip install 'banksim[load]'" in result.output


@pytest.mark.parametrize("args", [("chaos", "--help"), ("chaos", "status", "--help")])
def test_chaos_commands_do_not_import_the_bank_or_sqlalchemy(args, tmp_path):
    """`banksim chaos ...` only talks HTTP: it must not pay for importing the bank's app,
    SQLAlchemy or Locust (seconds on a busy machine). `-X importtime` lists every module
    the command imported."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "banksim", *args], cwd=tmp_path,
        capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("BANKSIM_")})
    assert result.returncode == 0, result.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert "chaos.client" in imported  # the chaos group did load
    heavy = {name for name in imported
             if name.split(".")[0] in ("sqlalchemy", "bankapi", "flask", "apiflask", "locust",
                                       "loadtests", "seed", "marshmallow")}
    assert heavy == set(), sorted(heavy)


def test_every_command_a_part_lends_is_listed_by_name():
    """banksim.cli names the commands without importing them: none may be left out."""
    import banksim.cli as cli
    from bankapi.cli import COMMANDS as BANK_COMMANDS
    assert {command.name for command in BANK_COMMANDS} <= set(cli.COMMANDS)
    group = click.Context(cli.main, info_name="banksim")
    for name in cli.main.list_commands(group):
        assert cli.main.get_command(group, name).name == name
