"""Breaking one device: rules matched by X-Device-Id and by the headers the bank allows, and
faults a caller asks for with X-Banksim-Fault once an admin allows its device or user."""
import pytest

from tests.helpers.promtext import sample

LAB = {"X-Device-Id": "lab-phone-1"}


def ignored(client, reason: str) -> float:
    return sample(client.get("/metrics").text, "chaos_header_faults_ignored_total", reason=reason)


@pytest.fixture
def allow(client, admin_headers):
    """PUT the caller-chosen fault setting: `allow(devices=[...], users=[...], on=True)`."""
    def put(devices=(), users=(), on=True):
        response = client.put("/admin/chaos/settings", headers=admin_headers, json={
            "header_faults": on, "allow": {"devices": list(devices), "users": list(users)}})
        assert response.status_code == 200, response.json
        return response.json
    return put


def test_a_rule_with_devices_hits_only_those_devices(client, rule):
    rule({"type": "error", "status": 503}, match={"devices": ["lab-phone-1", "lab-phone-2"]})
    assert client.get("/accounts", headers=LAB).status_code == 503
    assert client.get("/accounts", headers={"X-Device-Id": "lab-phone-2"}).status_code == 503
    assert client.get("/accounts", headers={"X-Device-Id": "someone-else"}).status_code == 401
    assert client.get("/accounts").status_code == 401


def test_a_sticky_cohort_of_listed_devices_picks_the_same_devices_every_time(client, rule):
    devices = [f"phone-{n}" for n in range(40)]
    rule({"type": "error", "status": 502}, match={"devices": devices, "cohort_percent": 50})

    def hit():
        return {device for device in devices if client.get(
            "/accounts", headers={"X-Device-Id": device}).status_code == 502}
    first = hit()
    assert 5 < len(first) < 35 and hit() == first


def test_a_rule_with_headers_needs_the_exact_value_of_an_allowed_header(client, rule):
    made = rule({"type": "error", "status": 503}, match={"headers": {"X-Network": "cellular"}})
    assert made["match"]["headers"] == {"X-Network": "cellular"}
    assert client.get("/accounts", headers={"x-network": "cellular"}).status_code == 503
    for other in ({"X-Network": "wifi"}, {"X-Network": "Cellular"}, {}):
        assert client.get("/accounts", headers=other).status_code == 401, other


@pytest.mark.parametrize("match, field", [
    ({"headers": {"Authorization": "Bearer x"}}, "match.headers"),
    ({"headers": {"cookie": "a=b"}}, "match.headers"),
    ({"headers": {"X-Undeclared": "1"}}, "match.headers"),
    ({"headers": {"X Network": "1"}}, "match.headers"),
    ({"headers": {"X-Network": "wifi", "x-network": "cellular"}}, "match.headers"),
    ({"headers": {f"X-Network-{n}": "1" for n in range(9)}}, "match.headers"),
    ({"devices": [f"d{n}" for n in range(1001)]}, "match.devices"),
    ({"devices": []}, "match.devices"),
    ({"devices": ["x" * 65]}, "match.devices"),
])
def test_rules_keying_on_credentials_undeclared_headers_or_huge_lists_are_refused(
        client, admin_headers, match, field):
    response = client.post("/admin/chaos/rules", headers=admin_headers,
                           json={"fault": {"type": "reset"}, "match": match})
    assert response.status_code == 400 and response.json["error"]["field"] == field, \
        response.json
    assert client.get("/admin/chaos/rules", headers=admin_headers).json["rules"] == []


def test_a_patch_cannot_add_a_disallowed_header(client, admin_headers, rule):
    made = rule({"type": "reset"}, match={"devices": ["lab-phone-1"]})
    response = client.patch(f"/admin/chaos/rules/{made['id']}", headers=admin_headers,
                            json={"match": {"headers": {"Authorization": "Bearer x"}}})
    assert response.status_code == 400 and response.json["error"]["field"] == "match.headers"


@pytest.mark.parametrize("body, field", [
    ({"allow": {"devices": ["a"]}}, "header_faults"),
    ({"header_faults": "yes"}, "header_faults"),
    ({"header_faults": True, "allow": {"devices": [f"d{n}" for n in range(1001)]}},
     "allow.devices"),
    ({"header_faults": True, "allow": {"users": "user_1"}}, "allow.users"),
    ([], "body"),
])
def test_bad_settings_are_refused_naming_the_field(client, admin_headers, body, field):
    response = client.put("/admin/chaos/settings", headers=admin_headers, json=body)
    assert response.status_code == 400 and response.json["error"]["field"] == field, \
        response.json
    assert client.get("/admin/chaos", headers=admin_headers).json["settings"] == {
        "header_faults": False, "allow": {"devices": [], "users": []}}


def test_settings_need_the_admin_token(client):
    assert client.put("/admin/chaos/settings", json={"header_faults": True}).status_code == 401


def test_a_header_fault_is_ignored_and_counted_until_the_setting_and_the_allow_list_agree(
        client, admin_headers, allow):
    asked = {**LAB, "X-Banksim-Fault": "error=503"}
    off = ignored(client, "off")
    assert client.get("/accounts", headers=asked).status_code == 401  # off by default
    assert ignored(client, "off") == off + 1
    assert client.get("/health").json["chaos_header_faults"] is False

    allow(devices=["another-phone"])
    not_allowed = ignored(client, "not_allowed")
    assert client.get("/accounts", headers=asked).status_code == 401
    assert ignored(client, "not_allowed") == not_allowed + 1

    shown = allow(devices=["another-phone", "lab-phone-1"])
    assert shown["allow"]["devices"] == ["another-phone", "lab-phone-1"]
    answer = client.get("/accounts", headers=asked)
    assert answer.status_code == 503 and answer.headers["X-Chaos-Rule"] == "header"
    assert client.get("/accounts", headers=LAB).status_code == 401  # no header, no fault
    assert client.get("/health").json["chaos_header_faults"] is True
    assert client.get("/admin/chaos", headers=admin_headers).json["settings"] == shown

    allow(devices=["lab-phone-1"], on=False)
    assert client.get("/accounts", headers=asked).status_code == 401


def test_an_applied_header_fault_is_recorded_with_the_device_named(client, admin_headers, allow):
    allow(devices=["lab-phone-1"])
    injected = sample(client.get("/metrics").text, "chaos_injections_total", rule="header")
    answer = client.get("/accounts", headers={**LAB, "X-Banksim-Fault": "latency=5ms; error=502"})
    assert answer.status_code == 502
    events = client.get("/admin/chaos/events", headers=admin_headers).json["events"]
    assert [(e["rule_id"], e["fault"], e["device_id"]) for e in events[:2]] == [
        ("header", "error", "lab-phone-1"), ("header", "latency", "lab-phone-1")]
    assert sample(client.get("/metrics").text, "chaos_injections_total",
                  rule="header") == injected + 2


def test_a_user_on_the_allow_list_may_ask_from_any_device(client, alice, allow):
    allow(users=[alice.id])
    asked = {**alice.headers, "X-Device-Id": "borrowed-phone", "X-Banksim-Fault": "reset"}
    with pytest.raises(Exception):  # noqa: B017 - the test client surfaces the reset as an error
        client.get("/accounts", headers=asked)
    assert client.get("/accounts", headers={**alice.headers, "X-Banksim-Fault": "error=503"}
                      ).status_code == 503
    assert client.get("/accounts", headers=alice.headers).status_code == 200


@pytest.mark.parametrize("value, reason", [
    ("latency=10h", "invalid_value"),
    ("latency=60001ms", "invalid_value"),
    ("latency=-5", "malformed"),
    ("latency=0.5ms", "invalid_value"),
    ("latency", "invalid_value"),
    ("latency=", "invalid_value"),  # a missing value, as the bare type
    ("reset=", "invalid_value"),
    ("error=200", "invalid_value"),
    ("error=503x", "invalid_value"),
    ("reset=1", "invalid_value"),
    ("bandwidth=0", None),  # unknown until that fault is installed, then an invalid value
    ("bandwidth=10; cut=50", "conflict"),  # two faults that reshape the body: not both
    ("cut=50; bandwidth=10", "conflict"),
    ("db_error=operational", "unknown_fault"),
    ("meteor=1", "unknown_fault"),
    ("latency=5ms;latency=6ms", "unknown_fault"),
    ("latency=1;error=503;reset;timeout=1;malformed=empty", "too_many"),
    (";;;", "malformed"),
    ("latency=1e9", "invalid_value"),
    ("latency=" + "9" * 300, "too_long"),
    ("latency=" + "9" * 61, "invalid_value"),  # a number, however long: judged by its limits
    ("latency=1." + "0" * 50 + "1s", "invalid_value"),  # not a whole number of ms, exactly
    ("error=ABC", "invalid_value"),
    ("latency=800ms\u00e9", "not_ascii"),
    ("latency=8\t00", "not_ascii"),
])
def test_hostile_fault_headers_are_ignored_and_counted_never_a_5xx(
        client, allow, value, reason):
    allow(devices=["lab-phone-1"])
    reason = reason or ("invalid_value" if "bandwidth" in _installed() else "unknown_fault")
    before = ignored(client, reason)
    answer = client.get("/accounts", headers={**LAB, "X-Banksim-Fault": value})
    assert answer.status_code == 401 and "X-Chaos-Rule" not in answer.headers
    assert ignored(client, reason) == before + 1


@pytest.mark.parametrize("value, status", [
    ("LATENCY=5MS; ERROR=503", 503), ("Latency=0.005s; error=502", 502),
    ("latency=1.5ms; error=503", None), ("MALFORMED=Empty", 200), ("Reset; error=503", "reset"),
])
def test_fault_headers_are_read_without_regard_to_case_and_decimals_must_be_whole(
        client, allow, value, status):
    """docs/reference.md: names, units and words in any case; a decimal that comes to a
    whole number of the setting's unit."""
    allow(devices=["lab-phone-1"])
    asked = {**LAB, "X-Banksim-Fault": value}
    if status == "reset":
        with pytest.raises(Exception):  # noqa: B017 - the test client surfaces the reset
            client.get("/accounts", headers=asked)
        return
    answer = client.get("/accounts", headers=asked)
    if status is None:  # 1.5 ms is not a whole number of ms: ignored, the app answers
        assert answer.status_code == 401 and "X-Chaos-Rule" not in answer.headers
        return
    assert answer.status_code == status and answer.headers["X-Chaos-Rule"] == "header"


def _installed():
    from chaos.faults import FAULTS
    return FAULTS


def test_the_kill_switch_ends_header_faults(client, admin_headers, allow):
    allow(devices=["lab-phone-1"])
    asked = {**LAB, "X-Banksim-Fault": "error=503"}
    assert client.get("/accounts", headers=asked).status_code == 503
    client.post("/admin/chaos/disable", headers=admin_headers)
    off = ignored(client, "off")
    assert client.get("/accounts", headers=asked).status_code == 401
    assert ignored(client, "off") == off + 1
    assert client.get("/health").json["chaos_header_faults"] is False


def test_exempt_paths_ignore_the_header(client, allow):
    allow(devices=["lab-phone-1"])
    before = ignored(client, "exempt_path")
    assert client.get("/health", headers={**LAB, "X-Banksim-Fault": "error=503"}).status_code == 200
    assert ignored(client, "exempt_path") == before + 1


def test_the_openapi_document_offers_the_fault_header_where_chaos_acts(client):
    paths = client.get("/openapi.json").json["paths"]

    def headers(path, method):
        return {p["name"] for p in paths[path][method].get("parameters", [])
                if p["in"] == "header"}
    assert "X-Banksim-Fault" in headers("/accounts", "get")
    assert "X-Banksim-Fault" in headers("/transfers", "post")
    assert "X-Banksim-Fault" not in headers("/health", "get")
    assert "X-Banksim-Fault" not in headers("/admin/chaos/settings", "put")
    settings = client.get("/openapi.json").json["components"]["schemas"]["Settings"]
    assert set(settings["properties"]) == {"header_faults", "allow"}
