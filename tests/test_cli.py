"""The `banksim` command (serve and the HTTP commands are exercised in the chaos tests)."""
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


def test_release_publish_reports_unreachable_server(monkeypatch):
    monkeypatch.setenv("BANKSIM_URL", "http://127.0.0.1:9")
    result = CliRunner().invoke(main, ["release", "publish", "4.2.0"])
    assert result.exit_code == 1 and "cannot reach banksim" in result.output
