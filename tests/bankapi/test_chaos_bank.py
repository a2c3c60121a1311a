"""The chaos layer inside the bank, over real sockets: lost answers never move money twice."""
import os
import uuid

import pytest
import requests

from bankapi.domain.audit import run_audit
from bankapi.db import db


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
    assert set(branches) == {"error", "latency", "malformed", "reset", "timeout"}
    assert branches["timeout"]["required"] == ["type", "hang_ms"]
    assert "status" in branches["error"]["required"]
