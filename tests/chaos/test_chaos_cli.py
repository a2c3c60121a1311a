"""`chaos` CLI commands against a live server (werkzeug in a thread)."""
import json

import requests

import pytest
from click.testing import CliRunner

from chaos.cli import chaos
from tests.helpers.faults import free_port


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
    assert listed.exit_code == 0 and "outage" in listed.output
    added = run("preset", "outage")
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


def test_add_quiet_prints_only_the_ids_for_a_shell_to_capture(run, store):
    rules = [{"name": "one", "fault": {"type": "reset"}},
             {"name": "two", "fault": {"type": "latency", "ms": 5}}]
    result = run("add", "-q", "-", input=json.dumps(rules))
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == [r["id"] for r in store.list_rules()]


def test_add_warns_on_stderr_while_the_kill_switch_is_off(run, store):
    assert "warning" not in run("add", "-", input='{"fault": {"type": "reset"}}').stderr
    store.set_enabled(False)
    result = run("add", "-q", "-", input='{"fault": {"type": "reset"}}')
    assert result.exit_code == 0
    assert "chaos is off" in result.stderr and "chaos on" in result.stderr
    assert result.stdout.strip() == store.list_rules()[-1]["id"]
    assert "chaos is off" in run("preset", "outage").stderr
    assert "chaos is off" in run("enable", store.list_rules()[0]["id"]).stderr


def test_enable_and_disable_one_rule(run, store):
    rule = store.add_rule({"name": "slow", "fault": {"type": "latency", "ms": 5}})
    result = run("disable", rule["id"])
    assert result.exit_code == 0 and f"disabled {rule['id']}" in result.output
    assert store.get_rule(rule["id"])["enabled"] is False
    assert run("enable", rule["id"]).exit_code == 0
    assert store.get_rule(rule["id"])["enabled"] is True
    missing = run("disable", "rule_nope")
    assert missing.exit_code != 0 and "404 not_found" in missing.output


def test_events_name_the_device_when_there_is_no_user(run, store, live_server):

    store.add_rule({"name": "boom", "fault": {"type": "error", "status": 503}})
    answer = requests.get(f"{live_server}/hello", headers={"X-Device-Id": "phone-7"}, timeout=5)
    assert answer.status_code == 503
    listed = requests.get(f"{live_server}/admin/chaos/events", timeout=5,
                          headers={"Authorization": "Bearer t"}).json()["events"]
    assert listed[0]["device_id"] == "phone-7" and listed[0]["user_id"] is None
    result = run("events")
    assert result.exit_code == 0 and "phone-7" in result.output


def test_database_faults_are_counted_and_shown_like_the_others(run, store, live_server):
    store.add_rule({"name": "db down", "match": {"path": "/notes"},
                    "fault": {"type": "db_error", "kind": "locked", "statement": "read"}})
    answer = requests.get(f"{live_server}/notes", timeout=5)
    assert answer.status_code == 503 and answer.headers["X-Chaos-Rule"].startswith("rule_")
    status = CliRunner().invoke(chaos, ["--url", live_server, "--token", "t", "status"],
                                env={"COLUMNS": "200"})  # a wide terminal: whole cells
    assert status.exit_code == 0, status.output
    assert "db_error kind=locked statement=read" in status.output
    events = run("events")
    assert events.exit_code == 0 and "db_error" in events.output
    assert store.list_rules()[0]["stats"] == {"matched": 1, "injected": 1}


def test_header_faults_on_adds_to_the_allow_list_and_off_forgets_it(run, store):
    assert run("header-faults", "on", "--device", "phone-a").exit_code == 0
    shown = run("header-faults", "on", "--device", "phone-b", "--device", "phone-a",
                "--user", "user_1")
    assert shown.exit_code == 0 and "device phone-a, device phone-b, user user_1" in shown.output
    assert store.settings() == {"header_faults": True, "allow": {
        "devices": ["phone-a", "phone-b"], "users": ["user_1"]}}
    assert "header faults on for device phone-a" in run("status").output
    assert run("off").exit_code == 0  # the kill switch ends them too: status says so
    assert "(idle: chaos is off)" in " ".join(run("status").output.split())  # wrapped or not
    assert run("on").exit_code == 0
    assert "idle" not in run("status").output
    refused = run("header-faults", "off", "--device", "phone-a")
    assert refused.exit_code != 0 and store.settings()["header_faults"] is True
    assert run("header-faults", "off").exit_code == 0
    assert store.settings() == {"header_faults": False, "allow": {"devices": [], "users": []}}
    assert "header faults off" in run("status").output
