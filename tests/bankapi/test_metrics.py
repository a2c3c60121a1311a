import time

import pytest
from sqlalchemy import event

from bankapi.web import metrics
from bankapi.database.db import db
from bankapi.web.metrics import KnownVersions, method_label, platform_label
from bankapi.models import Release
from chaos.metrics import GenericVersionLabel
from tests.helpers.promtext import sample


@pytest.fixture(autouse=True)
def own_series_cache(monkeypatch):
    """Start from no cached label sets, so earlier tests in this process cannot fill the cap."""
    monkeypatch.setattr(metrics, "_children", {})


def test_requests_are_counted_by_route_template_version_and_platform(client, alice):
    before = sample(client.get("/metrics").get_data(as_text=True), "http_requests_total",
                    route="/accounts/<account_id>/balance", app_version="4.1.3", platform="ios")
    for _ in range(3):
        client.get(f"/accounts/{alice.account_id}/balance",
                   headers={**alice.headers, "X-App-Version": "4.1.3", "X-Platform": "ios"})
    text = client.get("/metrics").get_data(as_text=True)
    after = sample(text, "http_requests_total", route="/accounts/<account_id>/balance",
                   app_version="4.1.3", platform="ios", status="200", method="GET")
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


def test_only_published_releases_are_version_labels(app, client, admin_headers):
    versions = KnownVersions(db.engine_of(app), refresh_s=3600)
    assert versions("4.1.3") == "4.1.3"  # in the release history of every new database
    for unknown in ("4.2.0", "123.45.6789", "'; DROP TABLE", "", None):
        assert versions(unknown) == "other"
    client.post("/admin/releases", headers=admin_headers, json={"version": "4.2.0"})
    versions.refresh()
    assert versions("4.2.0") == "4.2.0"


def test_version_labels_cost_no_query_per_request(app):
    engine, queries = db.engine_of(app), []
    versions = KnownVersions(engine, refresh_s=3600)

    def count(_connection, _cursor, statement, *_rest):
        queries.extend([statement] if Release.__tablename__ in statement else [])
    event.listen(engine, "before_cursor_execute", count)
    try:
        for n in range(200):
            versions(f"4.1.{n % 5}")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(queries) == 1, queries


def test_only_the_newest_releases_become_labels(app, client, admin_headers):
    for version in ("5.0.0", "5.0.1", "5.0.2"):
        client.post("/admin/releases", headers=admin_headers, json={"version": version})
    versions = KnownVersions(db.engine_of(app), cap=2)
    assert [versions(v) for v in ("5.0.0", "5.0.1", "5.0.2", "4.1.3")] == \
        ["other", "5.0.1", "5.0.2", "other"]


@pytest.mark.parametrize("raw,label", [("GET", "GET"), ("OPTIONS", "OPTIONS"), ("PATCH", "PATCH"),
                                       ("PROPFIND", "other"), ("ZQXJKV", "other")])
def test_methods_outside_the_standard_ones_fold_into_other(raw, label):
    assert method_label(raw) == label


def test_chaos_alone_keeps_the_first_plausible_versions(monkeypatch):
    label = GenericVersionLabel(cap=2)
    assert [label(v) for v in ("4.1.3", "'; DROP", "9" * 50, None, "4.2.0", "4.2.1", "4.1.3")] \
        == ["4.1.3", "other", "other", "other", "4.2.0", "other", "4.1.3"]


def test_label_sets_beyond_the_cap_share_one_overflow_set(client, monkeypatch):
    monkeypatch.setattr(metrics, "MAX_SERIES", 2)
    for platform in ("ios", "android", "web", "symbian"):
        client.get("/health", headers={"X-Platform": platform, "X-App-Version": "4.1.3"})
    assert set(metrics._children) == {
        ("GET", "/health", "200", "4.1.3", "ios"), ("GET", "/health", "200", "4.1.3", "android"),
        metrics.OVERFLOW}
    text = client.get("/metrics").get_data(as_text=True)
    assert sample(text, "http_requests_total", method="other", route="other") >= 2


def test_platform_label_is_bounded():
    assert platform_label("iOS") == "ios" and platform_label("symbian") == "other"


def test_chaos_injections_are_counted_by_rule_fault_and_version(client, alice, admin_headers):
    rule = client.post("/admin/chaos/rules", headers=admin_headers, json={
        "name": "503 for 4.1.3", "match": {"path": "/me", "app_version": "==4.1.3"},
        "fault": {"type": "error", "status": 503}, "probability": 1}).get_json()
    labels = {"rule": rule["id"], "fault": "error", "phase": "before", "app_version": "4.1.3"}
    before = sample(client.get("/metrics").get_data(as_text=True), "chaos_injections_total",
                    **labels)
    for version in ("4.1.3", "4.1.3", "4.1.2"):
        client.get("/me", headers={**alice.headers, "X-App-Version": version})
    text = client.get("/metrics").get_data(as_text=True)
    assert sample(text, "chaos_injections_total", **labels) == before + 2
    assert sample(text, "chaos_injections_total", rule=rule["id"], app_version="4.1.2") == 0


def test_chaos_injections_of_unreleased_versions_are_other(client, alice, admin_headers):
    rule = client.post("/admin/chaos/rules", headers=admin_headers, json={
        "name": "503 on /me", "match": {"path": "/me"},
        "fault": {"type": "error", "status": 503}, "probability": 1}).get_json()
    client.get("/me", headers={**alice.headers, "X-App-Version": "123.45.6789"})
    text = client.get("/metrics").get_data(as_text=True)
    assert sample(text, "chaos_injections_total", rule=rule["id"], app_version="other") == 1
    assert "123.45.6789" not in text


def test_releases_publication_times_are_exported(app, client, admin_headers):
    client.post("/admin/releases", headers=admin_headers, json={"version": "4.2.0"})
    app.state.versions.refresh()  # as a request does at most VERSIONS_REFRESH_S later
    published = sample(client.get("/metrics").get_data(as_text=True),
                       "banksim_release_published_timestamp_seconds", app_version="4.2.0")
    assert abs(published - time.time()) < 120


def test_chaos_rules_in_force_follow_the_rules_and_the_kill_switch(client, alice,
                                                                   admin_headers):
    client.post("/admin/chaos/rules", headers=admin_headers, json={
        "name": "slow /me", "match": {"path": "/me"},
        "fault": {"type": "latency", "ms": 1}, "probability": 0})
    client.get("/me", headers=alice.headers)  # a request makes the engine read the rules
    text = client.get("/metrics").get_data(as_text=True)
    assert sample(text, "chaos_active_rules") >= 1
    revision = sample(text, "chaos_rules_revision")
    client.post("/admin/chaos/disable", headers=admin_headers)
    client.get("/me", headers=alice.headers)
    text = client.get("/metrics").get_data(as_text=True)
    assert sample(text, "chaos_active_rules") == 0
    assert sample(text, "chaos_rules_revision") > revision
