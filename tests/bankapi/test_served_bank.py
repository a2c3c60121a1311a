"""Bad input, racing writes and a burst of guesses against a real `banksim serve`.

Each of these once answered 500 or let a burst through only when served for real
(gunicorn workers, PostgreSQL), so they run the way a user runs the bank.
"""
import base64
import itertools
import json
import time
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
import requests

pytestmark = pytest.mark.slow
JSON = {"Content-Type": "application/json"}
THREADS, ROUNDS = 12, 5
_emails = itertools.count(1)


def _register(url, email=None):
    email = email or f"served{next(_emails)}@example.com"
    response = requests.post(f"{url}/auth/register", timeout=30, json={
        "email": email, "password": "correct horse", "name": "Served"})
    assert response.status_code == 201, response.text
    return email, {"Authorization": f"Bearer {response.json()['access_token']}"}


def _all_at_once(count, send):
    """`send(n)` from `count` threads released together; the responses."""
    barrier = Barrier(count)

    def run(n):
        barrier.wait()
        return send(n)
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def _refused(response, field):
    assert response.status_code == 400, (response.status_code, response.text)
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("validation_error", field)


def test_raw_unstorable_bytes_are_400_over_http(served_bank):
    url = served_bank
    post = lambda path, raw: requests.post(url + path, data=raw, headers=JSON, timeout=30)  # noqa: E731
    _refused(post("/auth/login", rb'{"email": "a\ud800@example.com", "password": "x"}'),
             "email")
    _refused(post("/auth/register",
                  rb'{"email": "nul@example.com", "password": "long enough", "name": "a\u0000"}'),
             "name")
    _refused(post("/auth/login", b"[" * 5000 + b"]" * 5000), "body")
    _refused(post("/auth/register", b'{"a":' * 5000 + b"1" + b"}" * 5000), "body")
    _email, headers = _register(url)
    _refused(requests.get(f"{url}/accounts/%00", headers=headers, timeout=30), "account_id")
    cursor = base64.urlsafe_b64encode(b"2026-01-01T00:00:00|tx_\x00").decode()
    account = requests.get(f"{url}/accounts", headers=headers, timeout=30).json()
    path = f"/accounts/{account['accounts'][0]['id']}/transactions?cursor={cursor}"
    _refused(requests.get(url + path, headers=headers, timeout=30), "cursor")
    login = requests.post(f"{url}/auth/login", json={"email": "nul@example.com",
                                                     "password": "long enough"}, timeout=30)
    assert login.status_code == 401  # the refused registration wrote nothing


def test_racing_registrations_of_one_email_get_one_201_and_409s(served_bank):
    for _ in range(ROUNDS):
        email = f"race{next(_emails)}@example.com"
        responses = _all_at_once(THREADS, lambda n, email=email: requests.post(
            f"{served_bank}/auth/register", timeout=60,
            json={"email": email, "password": "correct horse", "name": f"Racer {n}"}))
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201] + [409] * (THREADS - 1), statuses
        assert all(r.json()["error"]["code"] == "email_taken"
                   for r in responses if r.status_code == 409)


def test_racing_upserts_of_one_budget_all_answer_200(served_bank):
    _email, headers = _register(served_bank)
    for round_ in range(ROUNDS):
        category = ("groceries", "transport", "bills", "cash", "holidays")[round_]
        responses = _all_at_once(THREADS, lambda n, c=category: requests.put(
            f"{served_bank}/budgets/{c}", headers=headers, json={"limit": 100 + n},
            timeout=60))
        assert [r.status_code for r in responses] == [200] * THREADS, \
            [r.text for r in responses if r.status_code != 200][:3]
    budgets = requests.get(f"{served_bank}/budgets", headers=headers, timeout=30).json()
    assert len(budgets["budgets"]) == ROUNDS  # one per category, however many raced
    assert all(100 <= b["limit"] < 100 + THREADS for b in budgets["budgets"])


def test_a_burst_of_wrong_logins_gets_exactly_five_password_checks(served_bank):
    email, _headers = _register(served_bank)
    responses = _all_at_once(40, lambda _n: [requests.post(
        f"{served_bank}/auth/login", json={"email": email, "password": "wrong guess"},
        timeout=60) for _ in range(5)])
    statuses = [r.status_code for batch in responses for r in batch]
    assert (statuses.count(401), statuses.count(429), len(statuses)) == (5, 195, 200)
    locked = requests.post(f"{served_bank}/auth/login", timeout=30,
                           json={"email": email, "password": "correct horse"})
    assert locked.status_code == 429
    assert 1 <= int(locked.headers["Retry-After"]) <= 30  # the first lock-out, not 15 min


def test_racing_refreshes_with_one_refresh_token_let_one_through_then_end_the_session(
        served_bank):
    """Rotation is atomic: of THREADS refreshes with the same token, across the workers,
    one gets new tokens and the rest 401. The rest are reuses of a rotated-out token, so
    the session then ends: the winner's new tokens stop working too (OAuth's security
    BCP: the bank cannot tell which of the senders is the owner)."""
    email = f"served{next(_emails)}@example.com"
    response = requests.post(f"{served_bank}/auth/register", timeout=30, json={
        "email": email, "password": "correct horse", "name": "Racer"})
    user_id = response.json()["user_id"]
    for _ in range(ROUNDS):
        refresh_token = requests.post(f"{served_bank}/auth/login", timeout=30, json={
            "email": email, "password": "correct horse"}).json()["refresh_token"]
        responses = _all_at_once(THREADS, lambda _n, token=refresh_token: requests.post(
            f"{served_bank}/auth/refresh", json={"refresh_token": token}, timeout=60))
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] + [401] * (THREADS - 1), statuses
        assert all(r.json()["error"]["code"] == "invalid_refresh_token"
                   for r in responses if r.status_code == 401)
        winner = next(r.json() for r in responses if r.status_code == 200)
        assert winner["user_id"] == user_id
        me = requests.get(f"{served_bank}/me", timeout=30,
                          headers={"Authorization": f"Bearer {winner['access_token']}"})
        assert me.status_code == 401
        again = requests.post(f"{served_bank}/auth/refresh", timeout=30,
                              json={"refresh_token": winner["refresh_token"]})
        assert again.status_code == 401


def test_access_log_is_one_json_line_without_secrets(served):
    """`banksim serve` as the README runs it: the lines are on its stderr (serve.log)."""
    url, log_path = served.url, served.log_path
    token = requests.post(f"{url}/auth/register", timeout=30, json={
        "email": "logged@example.com", "name": "Logged", "password": "a-long-password"}
    ).json()["access_token"]
    requests.get(f"{url}/me", timeout=10, headers={
        "Authorization": f"Bearer {token}", "X-Request-Id": "log-1",
        "X-App-Version": "4.1.3", "X-Platform": "android"})
    lines = []
    for _ in range(100):  # the writer thread writes every 0.2 s; polls, asserts no duration
        lines = [json.loads(line) for line in log_path.read_text().splitlines()
                 if line.startswith('{"request_id": "log-1"')]
        if lines:
            break
        time.sleep(0.1)
    [line] = lines
    assert line["route"] == "/me" and line["status"] == 200 and line["user_id"]
    assert line["app_version"] == "4.1.3" and line["platform"] == "android"
    assert line["method"] == "GET" and line["duration_ms"] >= 0
    assert token not in log_path.read_text()
