"""`chaos` CLI commands against a live server (werkzeug in a thread)."""
import json

import pytest
from click.testing import CliRunner

from chaos.cli import chaos
from chaos_helpers import free_port


@pytest.fixture
def run(live_server):
    runner = CliRunner()

    def run(*args, input=None):
        return runner.invoke(chaos, ["--url", live_server, "--token", "t", *args], input=input)
    return run


def test_status_on_off(run, store):
    assert "chaos on" in run("status").output
    assert run("off").exit_code == 0 and store.status()["enabled"] is False
    assert "off (kill switch)" in run("status").output
    assert run("on").exit_code == 0 and store.status()["enabled"] is True


def test_presets_and_preset(run, store):
    listed = run("presets")
    assert listed.exit_code == 0 and "bad-release" in listed.output
    added = run("preset", "payments-outage")
    assert added.exit_code == 0 and "added 2 rule(s)" in added.output
    assert len(store.list_rules()) == 2


def test_add_from_stdin_rm_and_clear(run, store):
    rules = [{"name": "one", "fault": {"type": "reset"}},
             {"name": "two", "fault": {"type": "latency", "ms": 5}}]
    result = run("add", "-", input=json.dumps(rules))
    assert result.exit_code == 0, result.output
    ids = [r["id"] for r in store.list_rules()]
    assert len(ids) == 2
    assert run("rm", ids[0]).exit_code == 0
    assert [r["id"] for r in store.list_rules()] == ids[1:]
    assert run("clear").exit_code == 0 and store.list_rules() == []


def test_server_errors_exit_non_zero_with_the_message(run):
    result = run("rm", "rule_nope")
    assert result.exit_code != 0 and "404 not_found" in result.output
    bad = run("add", "-", input=json.dumps({"fault": {"type": "meteor"}}))
    assert bad.exit_code != 0 and "fault.type" in bad.output
    assert run("preset", "nope").exit_code != 0


def test_unreachable_server_is_a_clear_error():
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(chaos, ["--url", url, "status"])
    assert result.exit_code != 0 and f"cannot reach banksim at {url}" in result.output
