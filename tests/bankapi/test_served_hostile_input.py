"""Hostile but well-formed input against a real `banksim serve` (gunicorn workers, and
PostgreSQL when BANKSIM_TEST_DATABASE_URL is set): each of these answered 500, or
gunicorn's own HTML 500, or lost other requests' chaos events, only when served.
The in-process versions, one per form: tests/bankapi/test_hostile_input.py.
"""
import base64
import itertools
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
import requests

pytestmark = pytest.mark.slow
ADMIN = {"Authorization": "Bearer test-admin-token"}  # the `served` fixture's admin token
JSON = {"Content-Type": "application/json"}
HUGE_VERSION = "1" * 4301
_emails = itertools.count(1)


def _refused(response, field):
    assert response.status_code == 400, (response.status_code, response.text)
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("validation_error", field), error


def _customer(url):
    response = requests.post(f"{url}/auth/register", timeout=30, json={
        "email": f"hostile{next(_emails)}@example.com", "password": "correct horse",
        "name": "Hostile"})
    assert response.status_code == 201, response.text
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    account = requests.get(f"{url}/accounts", headers=headers, timeout=30).json()
    return headers, account["accounts"][0]["id"], response.json()


@pytest.fixture
def chaos_rule(served_bank):
    """Add a rule, wait until every worker applies it (`probe()` says so), remove it after."""
    def add(rule, probe):
        response = requests.post(f"{served_bank}/admin/chaos/rules", json=rule, headers=ADMIN,
                                 timeout=30)
        assert response.status_code == 201, response.text
        for _ in range(100):  # rules refresh every 0.25 s per worker; a bounded wait
            if all(probe() for _ in range(6)):
                return response.json()
            time.sleep(0.1)
        pytest.fail("the rule never applied")
    yield add
    requests.delete(f"{served_bank}/admin/chaos/rules", headers=ADMIN,
                    timeout=30).raise_for_status()


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-01:00"])
def test_moments_past_the_calendar_in_utc_are_400(served_bank, moment):
    headers, account_id, _ = _customer(served_bank)
    cursor = base64.urlsafe_b64encode(f"{moment}|tx_1".encode()).decode()
    for path, name, value, sent in [
            (f"/accounts/{account_id}/transactions", "since", moment, headers),
            (f"/accounts/{account_id}/transactions", "before", moment, headers),
            (f"/accounts/{account_id}/transactions", "cursor", cursor, headers),
            ("/notifications", "cursor", cursor, headers),
            ("/admin/transfers", "cursor", cursor, ADMIN)]:
        _refused(requests.get(served_bank + path, params={name: value}, headers=sent,
                              timeout=30), name)


def test_a_huge_app_version_is_an_unknown_version(served_bank, chaos_rule):
    url = served_bank
    latest = requests.get(f"{url}/app/releases/latest?platform=ios", timeout=30,
                          headers={"X-App-Version": HUGE_VERSION})
    assert latest.status_code == 200 and latest.json()["version"] == "4.1.3"
    headers, _account, _ = _customer(url)
    chaos_rule({"name": "4.2 outage", "match": {"app_version": ">=4.2.0"},
                "fault": {"type": "error", "status": 503}},
               probe=lambda: requests.get(f"{url}/app/releases/latest?platform=ios", timeout=30,
                                          headers={"X-App-Version": "4.2.0"}).status_code == 503)
    for _ in range(6):  # every worker, any route: no HTML 500 from the chaos middleware
        answer = requests.get(f"{url}/me", timeout=30,
                              headers={**headers, "X-App-Version": HUGE_VERSION})
        assert answer.status_code == 200, answer.text
        assert "X-Chaos-Rule" not in answer.headers


def test_strings_that_outgrow_their_column_once_normalised_are_400(served_bank):
    url = served_bank
    _refused(requests.post(f"{url}/auth/login", timeout=30,
                           json={"email": "İ" * 254, "password": "whatever"}), "email")
    _refused(requests.post(f"{url}/auth/register", timeout=30, json={
        "email": "İ" * 130 + "@example.com", "password": "long enough", "name": "Long"}),
        "email")
    _refused(requests.post(f"{url}/admin/releases", headers=ADMIN, timeout=30,
                           json={"version": "1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1c-r-dev"}),
             "version")
    fits = requests.post(f"{url}/auth/register", timeout=30, json={
        "email": "İ" * 100 + "@example.com", "password": "long enough", "name": "Fits"})
    assert fits.status_code == 201, fits.text


def test_duplicate_keys_a_respelt_retry_and_a_second_publish(served_bank):
    url = served_bank
    headers, account_id, _ = _customer(url)
    requests.post(f"{url}/accounts/{account_id}/topup", json={"amount": 1000}, timeout=30,
                  headers={**headers, "Idempotency-Key": uuid.uuid4().hex}).raise_for_status()
    _other_headers, other_account, _ = _customer(url)
    body = {"from_account_id": account_id, "to_account_id": other_account, "amount": 7,
            "currency": "GBP"}
    sent = {**headers, **JSON, "Idempotency-Key": uuid.uuid4().hex}
    duplicate = json.dumps(body)[:-1] + ', "amount": 900}'
    _refused(requests.post(f"{url}/transfers", data=duplicate, headers=sent, timeout=30),
             "amount")
    first = requests.post(f"{url}/transfers", data=json.dumps(body), headers=sent, timeout=30)
    assert first.status_code == 201, first.text
    respelt = json.dumps({**body, "amount": 7.0}, sort_keys=True)
    retry = requests.post(f"{url}/transfers", data=respelt, headers=sent, timeout=30)
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    balance = requests.get(f"{url}/accounts/{account_id}/balance", headers=headers, timeout=30)
    assert balance.json()["balance"] == 1000 - 7
    publish = lambda: requests.post(f"{url}/admin/releases", headers=ADMIN,  # noqa: E731
                                    json={"version": "8.0.0"}, timeout=30)
    assert publish().status_code == 201
    again = publish()
    assert again.status_code == 409 and again.json()["error"]["code"] == "release_exists"


def test_reusing_a_rotated_refresh_token_ends_the_session(served_bank):
    _headers, _account, registered = _customer(served_bank)
    refresh = lambda token: requests.post(f"{served_bank}/auth/refresh", timeout=30,  # noqa: E731
                                          json={"refresh_token": token})
    rotated = refresh(registered["refresh_token"]).json()
    assert refresh(registered["refresh_token"]).status_code == 401  # the copy, replayed
    assert refresh(rotated["refresh_token"]).status_code == 401
    me = requests.get(f"{served_bank}/me", timeout=30,
                      headers={"Authorization": f"Bearer {rotated['access_token']}"})
    assert me.status_code == 401


def test_odd_requests_do_not_cost_other_requests_their_chaos_events(served_bank, chaos_rule):
    """On PostgreSQL, one unauthenticated request with NUL in its path (or a 20-character
    method) made the recorder's whole batch fail, other requests' events with it."""
    url = served_bank
    chaos_rule({"name": "odd", "match": {"path": "/odd*"},
                "fault": {"type": "error", "status": 503}},
               probe=lambda: requests.get(f"{url}/odd-probe", timeout=30).status_code == 503)
    sent = [("GET", "/odd-before"), ("GET", "/odd/a%00b"),
            ("TWENTYCHARACTERSLONG", "/odd-method"), ("GET", "/odd-after")]
    for method, path in sent:
        assert requests.request(method, url + path, timeout=30).status_code == 503
    wanted = {("GET", "/odd-before"), ("GET", "/odd/a\ufffdb"), ("TWENTYCHAR", "/odd-method"),
              ("GET", "/odd-after")}
    stored = set()
    for _ in range(100):  # other workers flush every 0.5 s; a bounded wait
        events = requests.get(f"{url}/admin/chaos/events?limit=1000", headers=ADMIN,
                              timeout=30).json()["events"]
        stored = {(e["method"], e["path"]) for e in events}
        if wanted <= stored:
            break
        time.sleep(0.1)
    assert wanted <= stored, stored


def test_a_non_ascii_path_glob_matches_over_http(served_bank, chaos_rule):
    url = served_bank
    chaos_rule({"name": "café", "match": {"path": "/café/*"},
                "fault": {"type": "error", "status": 503}},
               probe=lambda: requests.get(f"{url}/café/menu", timeout=30).status_code == 503)
    assert requests.get(f"{url}/cafe/menu", timeout=30).status_code == 404


def test_racing_publishes_of_one_version_get_one_201_and_409s(served_bank):
    barrier, threads = Barrier(8), 8

    def publish(_n):
        barrier.wait()
        return requests.post(f"{served_bank}/admin/releases", headers=ADMIN, timeout=60,
                             json={"version": "8.5.0", "platform": "ios"}).status_code
    with ThreadPoolExecutor(threads) as pool:
        statuses = sorted(pool.map(publish, range(threads)))
    assert statuses == [201] + [409] * (threads - 1), statuses


def test_a_logout_racing_a_reused_refresh_token_never_fails(served_bank):
    """Both end the same session; each takes the session row before its tokens, so on
    PostgreSQL neither waits for the other in a deadlock."""
    email = f"hostile{next(_emails)}@example.com"
    requests.post(f"{served_bank}/auth/register", timeout=30, json={
        "email": email, "password": "correct horse", "name": "Racer"}).raise_for_status()
    for _ in range(10):
        signed_in = requests.post(f"{served_bank}/auth/login", timeout=30, json={
            "email": email, "password": "correct horse"}).json()
        rotated = requests.post(f"{served_bank}/auth/refresh", timeout=30, json={
            "refresh_token": signed_in["refresh_token"]}).json()
        logout = {"url": f"{served_bank}/auth/logout",
                  "headers": {"Authorization": f"Bearer {rotated['access_token']}"}}
        reuse = {"url": f"{served_bank}/auth/refresh",
                 "json": {"refresh_token": signed_in["refresh_token"]}}
        barrier = Barrier(2)
        with ThreadPoolExecutor(2) as pool:
            statuses = list(pool.map(lambda call, barrier=barrier: (
                barrier.wait(), requests.post(timeout=60, **call).status_code)[1],
                [logout, reuse]))
        assert statuses[1] == 401 and statuses[0] in (204, 401), statuses
