"""Chaos limits through the admin API and the middleware of the tiny app:
exempt paths as the router resolves them, the rule limit, cheap rule changes, and
presets that replace what they added before."""
import pytest

from chaos.decisions import Decider
from tests.helpers.faults import wsgi_call
from tests.helpers.chaos_app import PRESETS, create_app

RESET_ALL = {"fault": {"type": "reset"}, "match": {"path": "*"}}


@pytest.mark.parametrize("path, method", [
    ("//health", "GET"), ("///health", "GET"), ("//metrics", "GET"), ("/health/", "GET"),
    ("//admin/chaos", "GET"), ("//admin/chaos/disable", "POST"), ("/admin//chaos", "GET")])
def test_exempt_paths_are_exempt_however_the_slashes_are_written(client, path, method):
    assert client.post("/admin/chaos/rules", json=RESET_ALL).status_code == 201
    status, _, _ = wsgi_call(client.application, path, method)  # a reset would raise
    assert not status.startswith("5")


@pytest.mark.parametrize("path", ["/healthz", "/administrator", "/metricsfoo", "/hello",
                                  "//hello"])
def test_paths_that_only_start_like_an_exempt_one_are_not_exempt(client, path):
    assert client.post("/admin/chaos/rules", json=RESET_ALL).status_code == 201
    with pytest.raises(ConnectionResetError):
        wsgi_call(client.application, path)


def test_double_slash_disable_really_disables(client):
    client.post("/admin/chaos/rules", json=RESET_ALL)
    status, _, _ = wsgi_call(client.application, "//admin/chaos/disable", "POST")
    assert status.startswith("200")
    assert client.get("/admin/chaos").json["enabled"] is False


def test_rule_globs_see_the_path_the_router_sees(client):
    client.post("/admin/chaos/rules", json={"fault": {"type": "error", "status": 503},
                                            "match": {"path": "/hello"}})
    status, headers, _ = wsgi_call(client.application, "//hello")
    assert status.startswith("503") and "X-Chaos-Rule" in headers


def test_the_rule_limit_answers_409_and_writes_nothing(make_store):
    client = create_app(make_store(max_rules=3)).test_client()
    for _ in range(3):
        assert client.post("/admin/chaos/rules", json=RESET_ALL).status_code == 201
    refused = client.post("/admin/chaos/rules", json=RESET_ALL)
    assert refused.status_code == 409
    assert refused.json["error"]["code"] == "too_many_rules"
    assert "at most 3 rules" in refused.json["error"]["message"]
    assert client.post("/admin/chaos/presets/outage").status_code == 409
    assert len(client.get("/admin/chaos/rules").json["rules"]) == 3
    client.delete(f"/admin/chaos/rules/{client.get('/admin/chaos/rules').json['rules'][0]['id']}")
    assert client.post("/admin/chaos/rules", json=RESET_ALL).status_code == 201


def test_the_default_limit_is_1000(store):
    assert store.max_rules == 1000


def test_applying_a_preset_again_replaces_what_it_added(client):
    mine = client.post("/admin/chaos/rules", json=RESET_ALL).json
    client.post("/admin/chaos/presets/flaky")
    for _ in range(50):
        applied = client.post("/admin/chaos/presets/three")
        assert applied.status_code == 201
    rules = client.get("/admin/chaos/rules").json["rules"]
    names = [rule["name"] for rule in rules]
    flaky, three = (next(p for p in PRESETS if p.name == name) for name in ("flaky", "three"))
    assert len(rules) == 1 + len(flaky.rules) + len(three.rules)
    assert rules[0] == mine | {"stats": rules[0]["stats"]}
    assert sorted(names[-3:]) == sorted(r["name"] for r in three.rules)
    assert [r["id"] for r in rules[-3:]] == [r["id"] for r in applied.json["rules"]]


def test_a_preset_reapplied_after_its_rules_were_edited_or_deleted(client):
    first = client.post("/admin/chaos/presets/outage").json["rules"]
    client.delete(f"/admin/chaos/rules/{first[0]['id']}")
    client.patch(f"/admin/chaos/rules/{first[1]['id']}", json={"enabled": False})
    again = client.post("/admin/chaos/presets/outage").json["rules"]
    rules = client.get("/admin/chaos/rules").json["rules"]
    assert [r["id"] for r in rules] == [r["id"] for r in again]
    assert all(r["enabled"] for r in rules)


def test_a_change_recompiles_only_the_rules_that_changed(engine, store, add_rule):
    rules = [add_rule({"type": "reset"}, match={"path": f"/p/{n}"}) for n in range(20)]
    before = {rule.id: rule for rule in engine.current().rules}
    store.update_rule(rules[5]["id"], {"probability": 0.5})
    store.delete_rule(rules[6]["id"])
    add_rule({"type": "reset"})
    after = {rule.id: rule for rule in engine.current().rules}
    assert after[rules[5]["id"]] is not before[rules[5]["id"]]
    assert after[rules[5]["id"]].probability == 0.5 and rules[6]["id"] not in after
    unchanged = [r["id"] for r in rules if r["id"] not in (rules[5]["id"], rules[6]["id"])]
    assert all(after[rule_id] is before[rule_id] for rule_id in unchanged)


def test_a_reseed_recompiles_everything(make_store, add_rule):
    add_rule({"type": "reset"})
    engine = Decider(make_store(seed=42), refresh_s=0)
    before = engine.current().rules[0]
    make_store(seed=7)
    assert engine.current().seed == 7 and engine.current().rules[0] is not before


def test_a_request_tries_only_the_rules_aimed_at_its_route(engine, add_rule, make_request):
    for n in range(50):
        add_rule({"type": "reset"}, match={"path": f"/p/{n}/*", "methods": ["POST"]})
    posts = add_rule({"type": "reset"}, match={"methods": ["POST"]})
    anywhere = add_rule({"type": "reset"}, match={"path": "/accounts/*"})
    rules = engine.current()
    assert [r.id for r in rules.for_request("4.2.0", "GET", "/accounts/a/b")] == [anywhere["id"]]
    assert [r.id for r in rules.for_request("4.2.0", "POST", "/p/7/x")] == [
        rules.rules[7].id, posts["id"]]
    long_path = "/accounts/" + "x" * 500
    assert [r.id for r in rules.for_request(None, "GET", long_path)] == [anywhere["id"]]
    assert all(len(path) <= 200 for _, _, path in rules._by_route)  # clients choose paths
    assert engine.decide(make_request(method="GET", path="/p/7/x")) is None
    assert engine.decide(make_request(method="POST", path="/p/7/x")).rule_id == rules.rules[7].id
