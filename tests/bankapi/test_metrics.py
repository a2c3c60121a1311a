import json
import logging

import pytest

from bankapi.web.metrics import app_version_label, platform_label
from promtext import sample


def test_requests_are_counted_by_route_template_version_and_platform(client, alice):
    before = sample(client.get("/metrics").get_data(as_text=True), "http_requests_total",
                    route="/accounts/<account_id>/balance", app_version="4.2.0", platform="ios")
    for _ in range(3):
        client.get(f"/accounts/{alice.account_id}/balance",
                   headers={**alice.headers, "X-App-Version": "4.2.0", "X-Platform": "ios"})
    text = client.get("/metrics").get_data(as_text=True)
    after = sample(text, "http_requests_total", route="/accounts/<account_id>/balance",
                   app_version="4.2.0", platform="ios", status="200", method="GET")
    assert after - before == 3
    assert "http_request_duration_seconds_bucket" in text
    assert alice.account_id not in text


def test_money_counters(client, alice, bob):
    body = {"from_account_id": alice.account_id, "to_account_id": bob.account_id,
            "amount": 1_00, "currency": "GBP"}
    text = client.get("/metrics").get_data(as_text=True)
    completed = sample(text, "banksim_money_movements_total", kind="transfer",
                       outcome="completed")
    replays = sample(text, "banksim_idempotent_replays_total")
    alice.post("/transfers", json=body, key="m")
    alice.post("/transfers", json=body, key="m")
    text = client.get("/metrics").get_data(as_text=True)
    assert sample(text, "banksim_money_movements_total", kind="transfer",
                  outcome="completed") == completed + 1
    assert sample(text, "banksim_idempotent_replays_total") == replays + 1


@pytest.mark.parametrize("raw,label", [("4.2.0", "4.2.0"), ("4.1", "4.1"), ("4.2.0rc1", "4.2.0rc1"),
                                       ("'; DROP TABLE", "other"), ("9" * 50, "other"),
                                       (None, "other")])
def test_garbage_versions_fold_into_one_label(raw, label):
    assert app_version_label(raw) == label


def test_platform_label_is_bounded():
    assert platform_label("iOS") == "ios" and platform_label("symbian") == "other"


def test_access_log_is_one_json_line_without_secrets(client, alice, caplog):
    with caplog.at_level(logging.INFO, logger="banksim.access"):
        client.get("/me", headers={**alice.headers, "X-Request-Id": "log-1",
                                   "X-App-Version": "4.1.3", "X-Platform": "android"})
    line = json.loads(next(r.getMessage() for r in caplog.records
                           if r.name == "banksim.access"))
    assert line["request_id"] == "log-1" and line["user_id"] == alice.id
    assert line["route"] == "/me" and line["status"] == 200 and line["app_version"] == "4.1.3"
    assert alice.token not in caplog.text


def test_chaos_injections_are_counted_by_rule_fault_and_version(client, alice, admin_headers):
    rule = client.post("/admin/chaos/rules", headers=admin_headers, json={
        "name": "503 for 4.2.0", "match": {"path": "/me", "app_version": "==4.2.0"},
        "fault": {"type": "error", "status": 503}, "probability": 1}).get_json()
    labels = {"rule": rule["id"], "fault": "error", "app_version": "4.2.0"}
    before = sample(client.get("/metrics").get_data(as_text=True), "chaos_injections_total",
                    **labels)
    for version in ("4.2.0", "4.2.0", "4.1.3"):
        client.get("/me", headers={**alice.headers, "X-App-Version": version})
    text = client.get("/metrics").get_data(as_text=True)
    assert sample(text, "chaos_injections_total", **labels) == before + 2
    assert sample(text, "chaos_injections_total", rule=rule["id"], app_version="4.1.3") == 0
