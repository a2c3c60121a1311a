"""Input that is well formed but reached a 500, or was read differently from what was sent.

Moments a zone carries past year 1 or 9999, a version number past Python's 4,300-digit
int conversion limit, strings that outgrow their column when normalised (lower-cased
emails, PEP 440 normal forms), duplicate JSON keys, a number spelt `7.0` on a retry, a
release published twice, and the chaos layer's view of odd requests (NUL in a path, a
20-character method, a non-ASCII path). The same through `banksim serve`:
tests/bankapi/test_served_hostile_input.py.
"""
import base64
import json
import uuid

import pytest

EXTREMES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-01:00"]
HUGE_VERSION = "1" * 4301  # packaging raises ValueError past the int conversion limit
LONG_NORMAL_FORM = "1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1c-r-dev"  # 38 sent, 45 once normalised


def cursor_at(moment: str) -> str:
    return base64.urlsafe_b64encode(f"{moment}|tx_1".encode()).decode()


def _refused(response, field):
    assert response.status_code == 400, (response.status_code, response.get_data(as_text=True))
    error = response.json["error"]
    assert (error["code"], error["field"]) == ("validation_error", field), error
    assert error["message"] and error["request_id"]


# (path, query parameter, whose request): the ten forms that overflowed converting to UTC.
MOMENT_FORMS = [(path, name, moment) for moment in EXTREMES for path, name in [
    ("/accounts/{acc}/transactions", "since"),
    ("/accounts/{acc}/transactions", "before"),
    ("/accounts/{acc}/transactions", "cursor"),
    ("/notifications", "cursor"),
    ("/admin/transfers", "cursor")]]


@pytest.mark.parametrize("path,name,moment", MOMENT_FORMS)
def test_a_moment_past_the_calendar_in_utc_is_400(client, alice, admin_headers,
                                                  path, name, moment):
    value = cursor_at(moment) if name == "cursor" else moment
    headers = admin_headers if path.startswith("/admin") else alice.headers
    response = client.get(path.format(acc=alice.account_id), query_string={name: value},
                          headers=headers)
    _refused(response, name)


def test_the_earliest_and_latest_moments_in_utc_still_list(client, alice):
    for name, moment in (("since", "0001-01-01T00:00:00Z"), ("before", "9999-12-31T23:59:59Z"),
                         ("since", "0001-01-01T00:00:00-14:00")):
        response = alice.get(f"/accounts/{alice.account_id}/transactions",
                             query_string={name: moment})
        assert response.status_code == 200 and response.json["transactions"], response.json


def test_an_app_version_past_the_digit_limit_is_an_unknown_version(client):
    response = client.get("/app/releases/latest?platform=ios",
                          headers={"X-App-Version": HUGE_VERSION})
    assert response.status_code == 200 and response.json["version"] == "4.1.3"


def test_chaos_rules_naming_app_version_do_not_match_a_huge_version(client, rule, alice):
    rule({"type": "error", "status": 503}, match={"app_version": ">=4.2.0"})
    huge = client.get("/me", headers={**alice.headers, "X-App-Version": HUGE_VERSION})
    assert huge.status_code == 200 and "X-Chaos-Rule" not in huge.headers
    targeted = client.get("/me", headers={**alice.headers, "X-App-Version": "4.2.0"})
    assert targeted.status_code == 503  # the rule itself is live


def test_a_chaos_rule_naming_a_huge_version_is_refused(client, admin_headers):
    response = client.post("/admin/chaos/rules", headers=admin_headers, json={
        "match": {"app_version": f">=1,<{HUGE_VERSION}"}, "fault": {"type": "reset"}})
    assert response.status_code == 400, response.json
    assert "app_version" in response.json["error"]["field"]
    assert client.get("/admin/chaos/rules", headers=admin_headers).json["rules"] == []


def test_a_login_email_that_outgrows_its_column_when_lowered_is_400(client, app,
                                                                    assert_nothing_written):
    response = client.post("/auth/login", json={"email": "İ" * 254, "password": "whatever"})
    _refused(response, "email")  # "İ".lower() is two code points: 508 of them
    assert_nothing_written(app)  # not even a failed-login row


def test_a_registration_email_that_outgrows_its_column_when_lowered_is_400(
        client, app, assert_nothing_written):
    email = "İ" * 130 + "@example.com"  # 142 sent, 272 lower-cased
    response = client.post("/auth/register", json={"email": email, "password": "long enough",
                                                   "name": "Long"})
    _refused(response, "email")
    assert_nothing_written(app)


def test_a_registration_email_that_fits_once_lowered_is_stored_lowered(client):
    email = "İ" * 100 + "@example.com"  # 112 sent, 212 lower-cased
    response = client.post("/auth/register", json={"email": email, "password": "long enough",
                                                    "name": "Turkish"})
    assert response.status_code == 201, response.json
    assert response.json["user"]["email"] == email.lower()
    login = client.post("/auth/login", json={"email": email, "password": "long enough"})
    assert login.status_code == 200


@pytest.mark.parametrize("body,field", [
    ({"version": LONG_NORMAL_FORM}, "version"),
    ({"version": "9.0.0", "min_supported_version": LONG_NORMAL_FORM}, "min_supported_version"),
])
def test_a_release_version_whose_normal_form_is_too_long_is_400(client, admin_headers, body,
                                                                field):
    _refused(client.post("/admin/releases", json=body, headers=admin_headers), field)
    assert client.get("/app/releases/latest?platform=ios").json["version"] == "4.1.3"


def test_a_rollout_change_for_a_huge_version_is_400(client, admin_headers):
    response = client.patch(f"/admin/releases/{HUGE_VERSION}", json={"halted": True},
                            headers=admin_headers)
    _refused(response, "version")


def test_publishing_a_version_again_is_409(client, admin_headers):
    def publish(version, platform):
        return client.post("/admin/releases", headers=admin_headers,
                           json={"version": version, "platform": platform})
    assert publish("9.0.0", "all").status_code == 201
    for version, platform in (("9.0.0", "all"), ("9.0.0", "ios"), ("9.0", "android"),
                              ("4.1.3", "ios")):  # 9.0 is 9.0.0; 4.1.3 is in the history
        again = publish(version, platform)
        assert again.status_code == 409, (version, platform, again.json)
        assert (again.json["error"]["code"], again.json["error"]["field"]) == (
            "release_exists", "version")
    assert publish("9.1.0", "ios").status_code == 201
    assert publish("9.1.0", "android").status_code == 201  # one platform at a time is fine
    assert publish("9.1.0", "all").status_code == 409
    assert publish("9.1.0", "ios").status_code == 409
    versions = [r["version"] for r in client.patch(
        "/admin/releases/9.0.0", json={"halted": True}, headers=admin_headers).json["releases"]]
    assert versions == ["9.0.0"]  # one row to change, not two histories


@pytest.mark.parametrize("raw,field", [
    ('{"from_account_id": "{acc}", "to_account_id": "{bob}", "currency": "GBP", '
     '"amount": 1, "amount": 9000}', "amount"),
    ('{"from_account_id": "{acc}", "to_account_id": "{bob}", "to_account_id": "{acc}", '
     '"currency": "GBP", "amount": 1}', "to_account_id"),
])
def test_a_body_with_a_key_twice_is_400_naming_it(app, alice, bob, assert_nothing_written,
                                                  raw, field):
    raw = raw.replace("{acc}", alice.account_id).replace("{bob}", bob.account_id)
    response = alice.client.post("/transfers", data=raw, content_type="application/json",
                                 headers={**alice.headers, "Idempotency-Key": "dup"})
    _refused(response, field)
    assert "more than once" in response.json["error"]["message"]
    assert_nothing_written(app)


def test_a_nested_key_twice_is_refused_too(client, admin_headers):
    raw = '{"fault": {"type": "error", "type": "reset"}}'
    response = client.post("/admin/chaos/rules", data=raw, content_type="application/json",
                           headers=admin_headers)
    _refused(response, "type")


def test_a_retry_that_spells_a_number_differently_is_the_same_request(alice, bob):
    key = uuid.uuid4().hex
    body = {"from_account_id": alice.account_id, "to_account_id": bob.account_id,
            "amount": 700, "currency": "GBP", "reference": "lunch"}
    first = alice.post("/transfers", json=body, key=key)
    assert first.status_code == 201, first.json
    respelt = json.dumps({**body, "amount": 700.0}, indent=1, sort_keys=True)
    retry = alice.client.post("/transfers", data=respelt.replace("700.0", "7.0e2"),
                              content_type="application/json",
                              headers={**alice.headers, "Idempotency-Key": key})
    assert retry.status_code == 201, retry.json
    assert retry.headers["Idempotent-Replayed"] == "true" and retry.json == first.json
    assert alice.balance() == 100_00 - 700  # moved once
    other = alice.post("/transfers", json={**body, "amount": 701}, key=key)
    assert other.status_code == 422 and other.json["error"]["code"] == "idempotency_key_reused"


def test_odd_requests_events_are_stored_without_dropping_the_others(client, rule,
                                                                    admin_headers):
    """On PostgreSQL one event that could not be stored (NUL in its path, a method longer
    than the column) made the whole batch fail, other requests' events with it."""
    rule({"type": "error", "status": 503}, match={"path": "/odd*"})
    assert client.get("/odd-before").status_code == 503
    assert client.get("/odd/a%00b").status_code == 503
    assert client.open("/odd-method", method="TWENTYCHARACTERSLONG").status_code == 503
    assert client.get("/odd-after").status_code == 503
    events = client.get("/admin/chaos/events", headers=admin_headers).json["events"]
    stored = {(e["method"], e["path"]) for e in events}
    assert stored == {("GET", "/odd-before"), ("GET", "/odd/a\ufffdb"),
                      ("TWENTYCHAR", "/odd-method"), ("GET", "/odd-after")}, stored


def test_a_non_ascii_path_glob_matches_the_path_it_names(client, rule, admin_headers):
    rule({"type": "error", "status": 503}, match={"path": "/café/*"})
    assert client.get("/café/menu").status_code == 503  # sent as /caf%C3%A9/menu
    assert client.get("/cafe/menu").status_code == 404
    events = client.get("/admin/chaos/events", headers=admin_headers).json["events"]
    assert [e["path"] for e in events] == ["/café/menu"]
