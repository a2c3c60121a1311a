"""The chaos layer inside the bank, over real sockets: lost answers never move money twice."""
import os
import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from bankapi.domain.audit import run_audit
from bankapi.database.db import db
from bankapi.presets import PRESETS


@pytest.fixture
def live_bank(live_server):
    return live_server


def add_rule(url, admin_headers, **rule):
    response = requests.post(f"{url}/admin/chaos/rules", json=rule, headers=admin_headers,
                             timeout=5)
    assert response.status_code == 201, response.text
    return response.json()


def test_reset_after_commit_then_retry_moves_money_once(app, live_bank, admin_headers,
                                                        alice, bob):
    rule = add_rule(live_bank, admin_headers, name="lose transfer answers",
                    match={"path": "/transfers", "methods": ["POST"], "users": [alice.id]},
                    fault={"type": "reset"}, phase="after", probability=1)
    headers = {**alice.headers, "Idempotency-Key": uuid.uuid4().hex,
               "X-App-Version": "4.2.0", "X-Platform": "ios"}
    body = {"from_account_id": alice.account_id, "to_account_id": bob.account_id,
            "amount": 25_00, "currency": "GBP", "reference": "after-commit"}
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{live_bank}/transfers", json=body, headers=headers, timeout=5)
    assert alice.balance() == 75_00  # the work was committed, only the answer was lost

    requests.patch(f"{live_bank}/admin/chaos/rules/{rule['id']}", json={"enabled": False},
                   headers=admin_headers, timeout=5).raise_for_status()
    retry = requests.post(f"{live_bank}/transfers", json=body, headers=headers, timeout=5)
    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert alice.balance() == 75_00 and bob.balance() == 75_00
    with app.app_context():
        assert run_audit(db.session)["ok"]


def test_version_targeted_error_spares_other_versions(live_bank, admin_headers, alice):
    add_rule(live_bank, admin_headers, name="4.2.0 outage", match={"app_version": "==4.2.0"},
             fault={"type": "error", "status": 503, "retry_after_s": 2})
    url = f"{live_bank}/accounts/{alice.account_id}/balance"
    bad = requests.get(url, headers={**alice.headers, "X-App-Version": "4.2.0"}, timeout=5)
    good = requests.get(url, headers={**alice.headers, "X-App-Version": "4.1.3"}, timeout=5)
    assert bad.status_code == 503 and bad.headers["Retry-After"] == "2"
    assert bad.json()["error"]["code"] and bad.headers["X-Chaos-Rule"].startswith("rule_")
    assert good.status_code == 200 and "X-Chaos-Rule" not in good.headers


def test_chaos_never_touches_admin_health_or_metrics(live_bank, admin_headers):
    add_rule(live_bank, admin_headers, name="everything down", fault={"type": "reset"})
    for path in ("/health", "/metrics", "/admin/chaos"):
        headers = admin_headers if path.startswith("/admin") else {}
        assert requests.get(live_bank + path, headers=headers, timeout=5).status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(live_bank + "/app/releases/latest?platform=ios", timeout=5)


def test_admin_chaos_needs_the_admin_token(live_bank):
    for headers in ({}, {"Authorization": "Bearer nope"}):
        response = requests.get(f"{live_bank}/admin/chaos", headers=headers, timeout=5)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"


def test_health_names_the_process_and_the_chaos_revision_it_applies(client, admin_headers):
    before = client.get("/health").json
    assert before["worker"] == os.getpid()
    client.post("/admin/chaos/rules", headers=admin_headers, json={
        "match": {"path": "/me"}, "fault": {"type": "error", "status": 503}})
    revision = client.get("/admin/chaos", headers=admin_headers).json["revision"]
    assert client.get("/health").json["chaos_revision"] == revision != before["chaos_revision"]


def test_openapi_spells_out_each_fault_type_and_its_required_settings(client):
    fault = client.get("/openapi.json").json["components"]["schemas"]["FaultSchema"]
    branches = {b["properties"]["type"]["enum"][0]: b for b in fault["oneOf"]}
    assert set(branches) == {"error", "latency", "malformed", "reset", "timeout",
                             "db_latency", "db_error", "db_disconnect",
                             "bandwidth", "cut", "offline", "webhook_delay",
                             "webhook_duplicate", "webhook_reorder", "webhook_drop"}
    assert branches["bandwidth"]["required"] == ["type", "bytes_per_s"]
    assert branches["timeout"]["required"] == ["type", "hang_ms"]
    assert branches["db_error"]["required"] == ["type", "kind"]
    assert branches["db_disconnect"]["properties"]["statement"]["enum"] == ["read", "write"]
    assert "status" in branches["error"]["required"]


@pytest.fixture
def make_bank(database_url, admin_headers):
    """A bank app with extra settings (as BANKSIM_* variables would give); shut down after."""
    from bankapi import create_app, init_database, shutdown
    token = admin_headers["Authorization"].removeprefix("Bearer ")
    made = []

    def make(**settings):
        app = create_app({"TESTING": True, "DATABASE_URL": database_url,
                          "ADMIN_TOKEN": token, **settings})
        init_database(app)
        made.append(app)
        return app
    yield make
    for app in made:
        shutdown(app)


def test_the_rule_limit_is_configurable_and_answers_in_the_envelope(make_bank, admin_headers):
    from bankapi.config import Config
    assert Config({}).CHAOS_MAX_RULES == 1000
    assert Config({"BANKSIM_CHAOS_MAX_RULES": "2"}).CHAOS_MAX_RULES == 2
    client = make_bank(CHAOS_MAX_RULES=2).test_client()
    rule = {"match": {"path": "/nowhere"}, "fault": {"type": "reset"}}
    for _ in range(2):
        added = client.post("/admin/chaos/rules", json=rule, headers=admin_headers)
        assert added.status_code == 201
    refused = client.post("/admin/chaos/rules", json=rule,
                          headers={**admin_headers, "X-Request-Id": "limit-1"})
    assert refused.status_code == 409
    assert refused.json["error"]["code"] == "too_many_rules"
    assert refused.json["error"]["request_id"] == "limit-1"
    assert len(client.get("/admin/chaos/rules", headers=admin_headers).json["rules"]) == 2


@pytest.mark.parametrize("settings, held", [
    ({}, 4), ({"SERVER_THREADS": 6}, 3), ({"SERVER_THREADS": 1}, 0),
    ({"SERVER_THREADS": 8, "CHAOS_MAX_HELD": 6}, 6)])
def test_slow_faults_hold_half_the_server_threads_unless_configured(make_bank, settings, held):
    from bankapi.config import Config
    assert Config({"BANKSIM_CHAOS_MAX_HELD": "6"}).CHAOS_MAX_HELD == 6
    assert Config({}).CHAOS_MAX_HELD is None
    app = make_bank(**settings)
    assert app.extensions["chaos.middleware"].decider.holds.max_held == held


def test_the_bank_hands_chaos_its_four_presets(client, admin_headers):
    presets = client.get("/admin/chaos/presets", headers=admin_headers).json["presets"]
    assert {p["name"] for p in presets} == set(PRESETS)
    assert all(p["description"] for p in presets)
    for name, preset in PRESETS.items():
        added = client.post(f"/admin/chaos/presets/{name}", headers=admin_headers)
        assert added.status_code == 201
        assert [r["name"] for r in added.json["rules"]] == [r["name"] for r in preset.rules]


def test_bad_release_targets_a_cohort_of_4_2_0_with_resets(client, admin_headers):
    rules = client.post("/admin/chaos/presets/bad-release", headers=admin_headers).json["rules"]
    assert all(r["match"]["app_version"] == "==4.2.0" for r in rules)
    assert all(r["match"]["cohort_percent"] == 40 and r["fault"]["type"] == "reset"
               for r in rules)
    assert {r["phase"] for r in rules} == {"before", "after"}
    after = {r["match"]["path"] for r in rules if r["phase"] == "after"}
    assert after == {"/transfers", "/payments"}


def test_injected_errors_answer_in_the_banks_envelope(client, admin_headers, alice):
    client.post("/admin/chaos/rules", headers=admin_headers, json={
        "match": {"path": "/me"}, "fault": {"type": "error", "status": 504}})
    answer = client.get("/me", headers={**alice.headers, "X-Request-Id": "req-504"})
    assert answer.status_code == 504
    assert answer.json == {"error": {"code": "gateway_timeout",
                                     "message": "injected failure (chaos)",
                                     "request_id": "req-504"}}


def test_the_kill_switch_never_waits_for_the_banks_write_lock(app, client, admin_headers,
                                                              database_url):
    """On SQLite a held write (a db_latency fault, a long transaction) holds the bank
    file's one write lock; chaos's state lives in a file of its own, so a disable goes
    through meanwhile (it once waited out the 30 s busy timeout and answered 503)."""
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL locks rows, not the database")
    bank = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=0)
    bank.isolation_level = None
    bank.execute("BEGIN IMMEDIATE")  # the bank's write lock, held
    try:
        with ThreadPoolExecutor(1) as pool:
            disabled = pool.submit(client.post, "/admin/chaos/disable", headers=admin_headers)
            assert disabled.result(timeout=10).status_code == 200
        assert client.get("/admin/chaos", headers=admin_headers).json["enabled"] is False
    finally:
        bank.execute("ROLLBACK")
        bank.close()
