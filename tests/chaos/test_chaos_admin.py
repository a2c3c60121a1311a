"""The admin API under /admin/chaos, through the test client of the tiny app."""
import time

import pytest

from tests.helpers.chaos_app import PRESETS, create_app


RESET = {"fault": {"type": "reset"}}
ERROR = {"fault": {"type": "error", "status": 503}}


def create(client, rule):
    response = client.post("/admin/chaos/rules", json=rule)
    assert response.status_code == 201, response.json
    return response.json


def test_status_starts_enabled_with_the_seed(client):
    body = client.get("/admin/chaos").json
    assert body["enabled"] is True and body["seed"] == 42 and body["rules"] == []


def test_create_fills_defaults_and_bumps_the_revision(client):
    revision = client.get("/admin/chaos").json["revision"]
    rule = create(client, {"name": "x", **RESET})
    assert rule["id"].startswith("rule_") and rule["created"].endswith("Z")
    assert rule["stats"] == {"matched": 0, "injected": 0}
    assert (rule["enabled"], rule["phase"], rule["probability"]) == (True, "before", 1.0)
    assert rule["match"] == {"cohort_percent": 100.0} and rule["pattern"] == {"type": "steady"}
    assert client.get("/admin/chaos").json["revision"] == revision + 1
    assert client.get(f"/admin/chaos/rules/{rule['id']}").json == rule
    assert client.get("/admin/chaos/rules").json["rules"] == [rule]


def test_a_rule_copied_from_the_api_can_be_posted_again(client):
    rule = create(client, {"name": "copy me", "match": {"app_version": "==4.2.0"}, **ERROR})
    again = create(client, rule)
    assert again["id"] != rule["id"] and again["match"] == rule["match"]


@pytest.mark.parametrize("rule, field", [
    ({"match": {"app_version": "~=banana"}, **RESET}, "match.app_version"),
    ({"match": {"app_version": ""}, **RESET}, "match.app_version"),
    ({"fault": {"type": "meteor"}}, "fault.type"),
    ({"fault": {"type": "error", "status": 418}}, "fault.status"),
    ({"fault": {"type": "latency", "ms": -5}}, "fault.ms"),
    ({"fault": {"type": "timeout"}}, "fault.hang_ms"),
    ({"probability": 1.01, **RESET}, "probability"),
    ({"probability": -0.1, **RESET}, "probability"),
    ({"pattern": {"type": "burst", "on_s": -1, "off_s": 5}, **RESET}, "pattern.on_s"),
    ({"pattern": {"type": "burst", "on_s": 1}, **RESET}, "pattern.off_s"),
    ({"ttl_s": -10, **RESET}, "ttl_s"),
    ({"phase": "during", **RESET}, "phase"),
    ({"match": {"cohort_percent": 101}, **RESET}, "match.cohort_percent"),
    ({"match": {"methods": ["FETCH"]}, **RESET}, "match.methods"),
    ({"match": {"colour": "red"}, **RESET}, "match.colour"),
    ({"priority": 1, **RESET}, "priority"),
    ({"name": "no fault"}, "fault"),
])
def test_invalid_rules_are_refused_naming_the_field(client, rule, field):
    response = client.post("/admin/chaos/rules", json=rule)
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "validation_error"
    assert response.json["error"]["field"] == field
    assert client.get("/admin/chaos/rules").json["rules"] == []


def test_patch_edits_fields_and_merges_match(client):
    rule = create(client, {"match": {"app_version": "==4.2.0", "platform": ["ios"]}, **RESET})
    patched = client.patch(f"/admin/chaos/rules/{rule['id']}",
                           json={"enabled": False, "match": {"cohort_percent": 40}}).json
    assert patched["enabled"] is False
    assert patched["match"] == {"app_version": "==4.2.0", "platform": ["ios"],
                                "cohort_percent": 40.0}
    assert patched["created"] == rule["created"]


NARROW = {"users": ["user_1"], "devices": ["lab-phone-1"], "platform": ["ios"],
          "app_version": "==4.2.0", "path": "/hello", "methods": ["GET"],
          "cohort_percent": 10, "cohort": "canary"}


@pytest.mark.parametrize("key", [*NARROW, "headers"])
@pytest.mark.parametrize("value", [None, [], {}, ""])
def test_a_patch_never_widens_a_rule_by_emptying_a_match_key(client, key, value):
    """Null (or an empty value) for a match key would drop the condition: a rule for one
    device would hit everyone. Refused naming the key, and the rule is unchanged."""
    rule = create(client, {"match": NARROW, **RESET})
    response = client.patch(f"/admin/chaos/rules/{rule['id']}", json={"match": {key: value}})
    assert response.status_code == 400, response.json
    assert response.json["error"]["field"] == f"match.{key}", response.json
    assert client.get(f"/admin/chaos/rules/{rule['id']}").json["match"] == rule["match"]


@pytest.mark.parametrize("field", ["match", "pattern", "probability", "fault", "enabled"])
def test_a_patch_setting_a_whole_field_to_null_is_refused(client, field):
    rule = create(client, {"match": {"devices": ["lab-phone-1"]}, **RESET})
    response = client.patch(f"/admin/chaos/rules/{rule['id']}", json={field: None})
    assert response.status_code == 400 and response.json["error"]["field"] == field, \
        response.json
    assert client.get(f"/admin/chaos/rules/{rule['id']}").json == rule


def test_patch_is_revalidated_and_a_bad_one_changes_nothing(client):
    rule = create(client, ERROR)
    response = client.patch(f"/admin/chaos/rules/{rule['id']}",
                            json={"fault": {"type": "latency", "status": 503}})
    assert response.status_code == 400 and response.json["error"]["field"] == "fault.status"
    assert client.get(f"/admin/chaos/rules/{rule['id']}").json["fault"] == rule["fault"]


def test_patch_disabling_a_rule_stops_it(client):
    rule = create(client, ERROR)
    assert client.get("/hello").status_code == 503
    client.patch(f"/admin/chaos/rules/{rule['id']}", json={"enabled": False})
    assert client.get("/hello").status_code == 200


def test_delete_one_and_all(client):
    first, second = create(client, RESET), create(client, ERROR)
    assert client.delete(f"/admin/chaos/rules/{first['id']}").status_code == 204
    assert client.get(f"/admin/chaos/rules/{first['id']}").status_code == 404
    assert [r["id"] for r in client.get("/admin/chaos/rules").json["rules"]] == [second["id"]]
    assert client.delete("/admin/chaos/rules").status_code == 204
    assert client.get("/admin/chaos/rules").json["rules"] == []


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_unknown_rule_is_404(client, method):
    response = getattr(client, method)("/admin/chaos/rules/rule_nope", json={})
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_kill_switch_keeps_rules(client):
    create(client, ERROR)
    assert client.post("/admin/chaos/disable").json["enabled"] is False
    assert client.get("/hello").status_code == 200
    assert len(client.get("/admin/chaos").json["rules"]) == 1
    assert client.post("/admin/chaos/enable").json["enabled"] is True
    assert client.get("/hello").status_code == 503


def test_admin_and_health_are_exempt(client):
    create(client, {**ERROR, "match": {"path": "*"}})
    assert client.get("/admin/chaos").status_code == 200
    assert client.get("/health").status_code == 200


def test_the_hosts_presets_are_listed_with_descriptions(client):
    presets = client.get("/admin/chaos/presets").json["presets"]
    assert presets == [{"name": p.name, "description": p.description} for p in PRESETS]


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.name)
def test_every_preset_applies(client, preset):
    response = client.post(f"/admin/chaos/presets/{preset.name}")
    assert response.status_code == 201
    assert [r["name"] for r in response.json["rules"]] == [r["name"] for r in preset.rules]


def test_the_host_decides_who_may_use_the_admin_api(store):
    app = create_app(store)
    app.extensions["chaos.authorize"] = lambda request: request.headers.get("X-Key") == "k"
    client = app.test_client()
    refused = client.post("/admin/chaos/disable")
    assert refused.status_code == 401 and refused.json["error"]["code"] == "unauthorized"
    assert client.get("/admin/chaos").status_code == 401
    assert client.post("/admin/chaos/disable", headers={"X-Key": "k"}).status_code == 200


def test_unknown_preset_is_404(client):
    assert client.post("/admin/chaos/presets/nope").status_code == 404


def test_events_newest_first_with_limit(client):
    rule = create(client, {**ERROR, "match": {"path": "/hello"}})
    for n in range(3):
        client.get("/hello", headers={"X-App-Version": "4.2.0", "X-Platform": "ios",
                                      "Authorization": f"Bearer user_{n}.secret"})
    events = client.get("/admin/chaos/events?limit=2").json["events"]
    assert [e["user_id"] for e in events] == ["user_2", "user_1"]
    assert events[0] | {"at": None} == {"at": None, "rule_id": rule["id"], "fault": "error",
                                        "phase": "before", "method": "GET", "path": "/hello",
                                        "app_version": "4.2.0", "platform": "ios",
                                        "user_id": "user_2", "device_id": None}
    assert client.get("/admin/chaos/events?limit=0").status_code == 400


def test_counters_are_shared_between_processes(client, make_store):
    rule = create(client, {**ERROR, "match": {"path": "/hello"}})
    for _ in range(4):
        client.get("/hello")
    other_process = make_store()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:  # the app's store flushes in the background
        if other_process.get_rule(rule["id"])["stats"]["injected"] == 4:
            break
        time.sleep(0.05)
    assert other_process.get_rule(rule["id"])["stats"] == {"matched": 4, "injected": 4}
    assert len(other_process.events()) == 4
