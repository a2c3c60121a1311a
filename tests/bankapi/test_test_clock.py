"""The test clock: off unless asked for, only forward, shared through the database, and
followed by budget months and token expiry."""
from datetime import datetime, timedelta

import pytest

from bankapi import create_app, shutdown
from bankapi.domain import testclock

ON = [{"TEST_CLOCK": True}]


def clock(client, admin_headers):
    response = client.get("/admin/clock", headers=admin_headers)
    assert response.status_code == 200, response.json
    return response.json


def advance(client, admin_headers, seconds):
    return client.post("/admin/clock/advance", json={"seconds": seconds}, headers=admin_headers)


def test_the_clock_is_off_unless_enabled(client, admin_headers):
    assert client.get("/admin/clock", headers=admin_headers).status_code == 404
    assert advance(client, admin_headers, 60).status_code == 404
    assert client.get("/health").json["test_clock"] is False


@pytest.mark.parametrize("app", ON, indirect=True)
def test_the_clock_needs_the_admin_token(client):
    assert client.get("/admin/clock").status_code == 401
    assert client.post("/admin/clock/advance", json={"seconds": 5}).status_code == 401


@pytest.mark.parametrize("app", ON, indirect=True)
def test_advancing_moves_the_banks_time_forward_and_adds_up(client, admin_headers):
    assert client.get("/health").json["test_clock"] is True
    assert clock(client, admin_headers)["offset_s"] == 0
    first = advance(client, admin_headers, 3 * 86400)
    assert first.status_code == 200 and first.json["offset_s"] == 3 * 86400
    assert advance(client, admin_headers, 60).json["offset_s"] == 3 * 86400 + 60
    now = datetime.strptime(clock(client, admin_headers)["now"], "%Y-%m-%dT%H:%M:%SZ")
    assert now > datetime.utcnow() + timedelta(days=2, hours=23)


@pytest.mark.parametrize("app", ON, indirect=True)
@pytest.mark.parametrize("seconds", [-1, 0, 1000 * 365 * 86400, testclock.MAX_ADVANCE_S + 1,
                                     1.5, "60", True, None, 1e30])
def test_a_bad_advance_is_refused_naming_the_field_and_writes_nothing(
        client, admin_headers, seconds):
    response = advance(client, admin_headers, seconds)
    assert response.status_code == 400
    assert response.json["error"]["field"] == "seconds"
    assert clock(client, admin_headers)["offset_s"] == 0


@pytest.mark.parametrize("app", ON, indirect=True)
def test_every_process_sees_the_same_offset(app, client, admin_headers, database_url):
    other = create_app({"TESTING": True, "DATABASE_URL": database_url, "TEST_CLOCK": True,
                        "ADMIN_TOKEN": "test-admin-token"})
    try:
        advance(client, admin_headers, 7200)
        assert clock(other.test_client(), admin_headers)["offset_s"] == 7200
    finally:
        shutdown(other)


def _seconds_into_next_month(client, admin_headers) -> int:
    now = datetime.strptime(clock(client, admin_headers)["now"], "%Y-%m-%dT%H:%M:%SZ")
    first = (now.replace(day=1) + timedelta(days=32)).replace(day=1, hour=12, minute=0)
    return int((first - now).total_seconds())


def log_in_again(client, customer):
    response = client.post("/auth/login", json={"email": customer.email,
                                                "password": "correct horse"})
    assert response.status_code == 200, response.json
    customer.headers = {"Authorization": f"Bearer {response.json['access_token']}"}


@pytest.mark.parametrize("app", ON, indirect=True)
def test_budgets_roll_over_into_the_next_month_and_warn_again(client, admin_headers, alice):
    alice.client.put("/budgets/eating_out", json={"limit": 10_00}, headers=alice.headers)

    def spend(key):
        response = alice.post("/payments", key=key, json={
            "account_id": alice.account_id, "amount": 9_00, "merchant": "Pret",
            "category": "eating_out"})
        assert response.status_code == 201

    def warnings():
        return [n for n in alice.get("/notifications").json["notifications"]
                if n["type"] == "budget_warning"]
    spend("m1")
    before = alice.get("/budgets").json
    assert before["budgets"][0]["status"] == "warning" and len(warnings()) == 1
    advance(client, admin_headers, _seconds_into_next_month(client, admin_headers))
    assert alice.get("/budgets").status_code == 401  # a month later the token has expired
    log_in_again(client, alice)
    after = alice.get("/budgets").json
    assert after["month"] != before["month"]
    assert (after["budgets"][0]["spent"], after["budgets"][0]["status"]) == (0, "ok")
    spend("m2")
    assert len(warnings()) == 2
    assert warnings()[0]["body"].endswith(after["month"])


@pytest.mark.parametrize("app", [{"TEST_CLOCK": True, "TOKEN_TTL_S": 3600}], indirect=True)
def test_tokens_expire_on_the_banks_time(client, admin_headers, alice):
    assert alice.get("/accounts").status_code == 200
    advance(client, admin_headers, 3601)
    assert alice.get("/accounts").status_code == 401


@pytest.mark.parametrize("app", ON, indirect=True)
def test_the_clock_stops_a_century_ahead(client, admin_headers):
    """Advances within the per-call limit still add up; past 100 years in all it refuses
    (else the bank's time would one day overflow year 9999)."""
    steps = testclock.MAX_OFFSET_S // testclock.MAX_ADVANCE_S
    for _ in range(steps):
        assert advance(client, admin_headers, testclock.MAX_ADVANCE_S).status_code == 200
    refused = advance(client, admin_headers, testclock.MAX_ADVANCE_S)
    assert refused.status_code == 400 and refused.json["error"]["field"] == "seconds"
    assert clock(client, admin_headers)["offset_s"] == steps * testclock.MAX_ADVANCE_S
    assert client.get("/health").status_code == 200
