"""/openapi.json says what the API does: every error status an operation can answer, and
the rules its inputs are held to, each rule stated where the code applies it. (The served
bank under schemathesis with every check: tests/reliability/test_fuzz_api.py.)"""
import re
import uuid

import pytest


@pytest.fixture
def spec(client):
    return client.get("/openapi.json").json


def _operations(spec):
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def test_every_operation_documents_the_errors_the_app_can_give_it(spec):
    for path, method, operation in _operations(spec):
        statuses = set(operation["responses"])
        assert "400" in statuses, (path, method)  # any query or path value may be refused
        if method in ("post", "put", "patch"):
            assert {"413", "415"} <= statuses, (path, method)
        if operation.get("security"):
            assert "401" in statuses, (path, method)
        if path != "/metrics":
            assert "503" in statuses, (path, method)
            assert "Retry-After" in operation["responses"]["503"]["headers"]
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                schema = response["content"]["application/json"]["schema"]
                assert schema["$ref"].rsplit("/", 1)[1] in ("HTTPError", "ValidationError")
    assert "503" not in spec["paths"]["/metrics"]["get"]["responses"]
    schemas = spec["components"]["schemas"]
    assert schemas["HTTPError"] == schemas["ValidationError"]  # the one error envelope


def test_every_operation_documents_the_server_bounds_and_what_chaos_can_inject(spec):
    exempt = ("/admin", "/health", "/metrics")
    for path, method, operation in _operations(spec):
        statuses = set(operation["responses"])
        assert {"408", "413", "414", "431"} <= statuses, (path, method)
        injected = {"429", "500", "502", "503", "504"}
        if path.startswith(exempt):  # chaos never touches these
            assert not {"429", "500", "502", "504"} & statuses, (path, method)
        else:
            assert injected <= statuses, (path, method)


def test_admin_operations_declare_the_admin_token(spec):
    assert spec["components"]["securitySchemes"]["AdminToken"]["scheme"] == "bearer"
    admin = [(path, operation) for path, _m, operation in _operations(spec)
             if path.startswith("/admin/")]
    assert len(admin) > 10
    for path, operation in admin:
        assert operation["security"] == [{"AdminToken": []}], path
        assert "401" in operation["responses"], path
    assert "409" in spec["paths"]["/admin/releases"]["post"]["responses"]


def test_rules_the_code_applies_are_in_the_schema(spec):
    schemas = spec["components"]["schemas"]
    assert schemas["TransferIn"]["oneOf"] == [{"required": ["to_account_id"]},
                                              {"required": ["to_email"]}]
    assert schemas["RolloutIn"]["anyOf"] == [{"required": ["rollout_percent"]},
                                             {"required": ["halted"]}]
    params = {(p["in"], p["name"]): p for p in
              spec["paths"]["/budgets/{category}"]["delete"]["parameters"]}
    assert "groceries" in params["path", "category"]["schema"]["enum"]
    latest = spec["paths"]["/app/releases/latest"]["get"]["parameters"]
    assert latest[0]["name"] == "platform" and latest[0]["required"] is True
    assert latest[0]["schema"]["enum"] == ["ios", "android", "web"]
    register = schemas["RegisterIn"]["properties"]
    assert register["password"]["pattern"] == register["name"]["pattern"] == "^[^\\x00]*$"


def _cursor_pattern(spec):
    parameters = spec["paths"]["/notifications"]["get"]["parameters"]
    return next(p for p in parameters if p["name"] == "cursor")["schema"]["pattern"]


@pytest.mark.parametrize("cursor", ["0.a", "99999999999999999.tx_ffff", "1764840600123456.zz",
                                    ""])
def test_every_cursor_the_pattern_allows_is_a_page(spec, alice, cursor):
    assert re.fullmatch(_cursor_pattern(spec), cursor)
    for path in (f"/accounts/{alice.account_id}/transactions", "/notifications"):
        response = alice.get(f"{path}?cursor={cursor}")
        assert response.status_code == 200, response.json


@pytest.mark.parametrize("cursor", ["MjAyNi0wMS0wMVQwMDowMDowMHx0eF8x", "1.a\n", "1.a.b",
                                    "123456789012345678.a", "-1.a", "1."])
def test_any_other_cursor_is_400(spec, alice, cursor):
    assert not re.fullmatch(_cursor_pattern(spec), cursor)
    response = alice.get("/notifications", query_string={"cursor": cursor})
    assert response.status_code == 400
    assert response.json["error"]["field"] == "cursor"


def test_next_cursor_matches_the_pattern_and_pages_on(spec, alice, bob):
    for n in range(3):
        alice.post("/transfers", key=uuid.uuid4().hex, json={
            "from_account_id": alice.account_id, "to_account_id": bob.account_id,
            "amount": 1_00 + n, "currency": "GBP"})
    path = f"/accounts/{alice.account_id}/transactions"
    first = alice.get(f"{path}?limit=2").json
    assert re.fullmatch(_cursor_pattern(spec), first["next_cursor"])
    rest = alice.get(path, query_string={"limit": 10, "cursor": first["next_cursor"]}).json
    seen = [t["id"] for t in first["transactions"] + rest["transactions"]]
    assert len(seen) == len(set(seen)) == 4  # the top-up and three transfers


@pytest.mark.parametrize("body", [{"to_account_id": None}, {"to_email": "bob@example.com"}])
def test_transfer_needs_exactly_one_destination(alice, bob, body):
    sent = {"from_account_id": alice.account_id, "to_account_id": bob.account_id,
            "amount": 1_00, "currency": "GBP"}
    sent.update(body)
    sent = {k: v for k, v in sent.items() if v is not None}
    if len(sent) == 4:  # neither destination
        sent.pop("to_account_id", None)
    response = alice.post("/transfers", json=sent, key=uuid.uuid4().hex)
    assert response.status_code == 400 and response.json["error"]["field"] == "to_account_id"


def test_latest_release_platform_from_query_or_header(client):
    for query in ("", "?platform="):  # an empty ?platform= defers to the header, as it did
        response = client.get(f"/app/releases/latest{query}", headers={"X-Platform": "ios"})
        assert response.status_code == 200, response.json
    for headers in ({}, {"X-Platform": "windows"}):
        response = client.get("/app/releases/latest", headers=headers)
        assert response.status_code == 400 and response.json["error"]["field"] == "platform"
    response = client.get("/app/releases/latest?platform=web", headers={"X-Platform": "x"})
    assert response.status_code in (200, 404)  # the query wins


@pytest.mark.parametrize("method", ["put", "delete"])
def test_unknown_budget_category_is_400_naming_it(alice, method):
    response = getattr(alice.client, method)("/budgets/crypto", json={"limit": 1_00},
                                             headers=alice.headers)
    assert response.status_code == 400 and response.json["error"]["field"] == "category"


@pytest.mark.parametrize("version,status", [("4.2.0rc1", 201), ("4.3.0.post1", 201),
                                            ("v4.4.0", 201), ("4.2.0-rc1", 400),
                                            ("4.2.0RC1", 400), (" 4.2.0", 400),
                                            ("4.2.0\n", 400)])
def test_release_versions_in_their_normal_spelling(client, admin_headers, version, status):
    response = client.post("/admin/releases", headers=admin_headers, json={"version": version})
    assert response.status_code == status, response.json
    if status == 400:
        assert response.json["error"]["field"] == "version"
    path_version = "4.1.3" if status == 201 else "4.1.3-x"
    response = client.patch(f"/admin/releases/{path_version}", headers=admin_headers,
                            json={"rollout_percent": 50})
    assert response.status_code == (200 if status == 201 else 400)


@pytest.mark.parametrize("changes,field", [
    ({"fault": {"type": "latency", "ms": "5"}}, "fault.ms"),
    ({"fault": {"type": "timeout", "hang_ms": True}}, "fault.hang_ms"),
    ({"enabled": "yes"}, "enabled"),
    ({"probability": True}, "probability"),
    ({"match": {"cohort_percent": "50"}}, "match.cohort_percent"),
    ({"match": {"app_version": "===4.2.0"}}, "match.app_version"),
    ({"match": {"app_version": "4.2.0"}}, "match.app_version"),
    ({"fault": {"type": "db_error", "kind": "locked"}, "phase": "after"}, "phase"),
])
def test_a_chaos_rule_holds_the_types_the_document_gives(client, admin_headers, changes,
                                                         field):
    rule = {"fault": {"type": "latency", "ms": 5}, **changes}
    response = client.post("/admin/chaos/rules", json=rule, headers=admin_headers)
    assert response.status_code == 400, response.json
    assert response.json["error"]["field"] == field


@pytest.mark.parametrize("changes", [
    {"fault": {"type": "latency", "ms": 5.0}},
    {"match": {"app_version": "==4.2.*, !=4.2.1", "cohort_percent": 50}},
    {"match": {"app_version": "~=4.2.0rc1"}},
    {"id": "rule_x", "stats": {"matched": 1}, "created": "2026-01-01T00:00:00Z"},  # ignored
])
def test_a_chaos_rule_the_document_allows_is_taken(client, admin_headers, spec, changes):
    rule = {"fault": {"type": "latency", "ms": 5}, **changes}
    pattern = spec["components"]["schemas"]["MatchSchema"]["properties"]["app_version"]
    if "match" in changes:
        assert re.fullmatch(pattern["pattern"], changes["match"]["app_version"])
    response = client.post("/admin/chaos/rules", json=rule, headers=admin_headers)
    assert response.status_code == 201, response.json


def test_the_chaos_rule_document_states_the_rules_checked_in_code(spec):
    schemas = spec["components"]["schemas"]
    posted = spec["paths"]["/admin/chaos/rules"]["post"]["requestBody"]["content"]
    assert posted["application/json"]["schema"] == {"$ref": "#/components/schemas/RuleIn"}
    database, other = schemas["RuleIn"]["anyOf"]
    assert database["properties"]["phase"]["enum"] == ["before"]
    assert {f["properties"]["type"]["enum"][0] for f in database["properties"]["fault"]["oneOf"]} \
        == {"db_disconnect", "db_error", "db_latency"}
    assert "id" not in database["properties"] and "stats" not in other["properties"]
    latency = [f for f in schemas["FaultSchema"]["oneOf"]
               if f["properties"]["type"]["enum"] == ["latency"]]
    assert sorted(tuple(f["required"]) for f in latency) == [
        ("type", "distribution", "median_ms", "sigma"),
        ("type", "distribution", "min_ms", "max_ms"), ("type", "ms")]
    burst = schemas["PatternSchema"]["oneOf"][1]
    assert burst["required"] == ["type", "on_s", "off_s"]
    assert burst["properties"]["on_s"]["exclusiveMinimum"] == 0
