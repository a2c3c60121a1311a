"""A real `banksim serve` (2 workers) against slow clients and held faults, over raw sockets.

The promise (SPEC section 4): /health and /admin answer within a second however many
requests are held or clients are slow. A probe gets one retry: the machine is shared.
"""
import json
import re
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests

pytestmark = pytest.mark.slow
SLOW_CLIENTS = 64
PARTIAL = {
    "partial headers": b"GET /health HTTP/1.1\r\nHost: x\r\n",
    "partial bodies": b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                      b"\r\nContent-Length: 100\r\n\r\n{\"email\": ",
    # answered "Connection: close", they never close their end (nor read)
    "never closing": b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
}


def _address(url):
    parts = urlsplit(url)
    return parts.hostname, parts.port


def _within_a_second(send):
    """`send(timeout=...)`'s response, if it came within a second (one retry)."""
    for _ in range(2):
        started = time.monotonic()
        try:
            response = send(timeout=1)
        except requests.RequestException:
            continue
        if time.monotonic() - started < 1:
            return response
    pytest.fail("no answer within a second, twice")


def _probe_health_and_admin(url, admin, rounds=4):
    for _ in range(rounds):
        health = _within_a_second(lambda **kw: requests.get(f"{url}/health", **kw))
        assert health.status_code == 200
        status = _within_a_second(
            lambda **kw: requests.get(f"{url}/admin/chaos", headers=admin, **kw))
        assert status.status_code == 200
        time.sleep(0.2)


def _raw(url, data: bytes, timeout=30) -> socket.socket:
    sock = socket.create_connection(_address(url), timeout=timeout)
    sock.sendall(data)
    return sock


def _read_all(sock) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _answer(raw: bytes) -> tuple[int, dict, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


@pytest.mark.parametrize("partial", PARTIAL.values(), ids=PARTIAL.keys())
def test_slow_clients_leave_health_and_admin_answering(served_bank, admin_headers, partial):
    slow = []
    try:
        for _ in range(SLOW_CLIENTS):
            slow.append(_raw(served_bank, partial))
        time.sleep(0.5)  # every slow client has been accepted by now
        _probe_health_and_admin(served_bank, admin_headers)
    finally:
        for sock in slow:
            sock.close()


def test_requests_held_in_short_faults_leave_health_and_admin_answering(served_bank,
                                                                        admin_headers):
    """40 clients loop into a 1,000 ms latency fault (a hold that short takes no slot):
    /health, a no-op enable and the disable still answer within a second."""
    rule = requests.post(f"{served_bank}/admin/chaos/rules", headers=admin_headers, timeout=10,
                         json={"name": "held", "match": {"path": "/app/releases/latest"},
                               "fault": {"type": "latency", "ms": 1000}})
    assert rule.status_code == 201, rule.text
    stop, held = threading.Event(), []

    def loop():
        with requests.Session() as session:
            while not stop.is_set():
                response = session.get(f"{served_bank}/app/releases/latest", timeout=30)
                held.append(response.headers.get("X-Chaos-Rule"))
    clients = [threading.Thread(target=loop) for _ in range(40)]
    for client in clients:
        client.start()
    try:
        deadline = time.monotonic() + 20
        while held.count(rule.json()["id"]) < 40 and time.monotonic() < deadline:
            time.sleep(0.1)  # until every client has been held at least about once
        assert held.count(rule.json()["id"]) >= 40, "the latency fault held too little"
        for _ in range(3):
            health = _within_a_second(lambda **kw: requests.get(f"{served_bank}/health", **kw))
            assert health.status_code == 200
            enable = _within_a_second(lambda **kw: requests.post(
                f"{served_bank}/admin/chaos/enable", headers=admin_headers, **kw))
            assert enable.status_code == 200
            time.sleep(0.2)
        disable = _within_a_second(lambda **kw: requests.post(
            f"{served_bank}/admin/chaos/disable", headers=admin_headers, **kw))
        assert disable.status_code == 200
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=60)
        requests.delete(f"{served_bank}/admin/chaos/rules", headers=admin_headers, timeout=30)
        requests.post(f"{served_bank}/admin/chaos/enable", headers=admin_headers, timeout=30)


@pytest.mark.database_incidental
def test_a_request_not_whole_in_time_is_answered_408_in_the_envelope(served_bank):
    head_only = _raw(served_bank, PARTIAL["partial headers"])
    body_cut = _raw(served_bank, b"POST /auth/login HTTP/1.1\r\nHost: x\r\nX-Request-Id: "
                                 b"slow-body-1\r\nContent-Length: 50\r\n\r\n{")
    idle = _raw(served_bank, b"")
    with head_only, body_cut, idle:
        status, headers, body = _answer(_read_all(head_only))
        assert status == 408 and headers["connection"] == "close"
        assert json.loads(body)["error"]["code"] == "request_timeout"
        assert json.loads(body)["error"]["request_id"] == headers["x-request-id"]
        status, headers, body = _answer(_read_all(body_cut))
        assert status == 408 and headers["x-request-id"] == "slow-body-1"
        assert json.loads(body)["error"]["request_id"] == "slow-body-1"
        assert _read_all(idle) == b""  # an idle connection is closed without a word


@pytest.mark.database_incidental
def test_headers_over_32_kib_are_431(served_bank):
    padding = b"".join(b"X-Pad-%d: %s\r\n" % (n, b"a" * 4000) for n in range(9))
    with _raw(served_bank, b"GET /health HTTP/1.1\r\nHost: x\r\n" + padding) as sock:
        status, headers, body = _answer(_read_all(sock))
    assert status == 431 and headers["connection"] == "close"
    assert json.loads(body)["error"]["code"] == "headers_too_large"


@pytest.mark.database_incidental
def test_a_body_over_the_limit_is_413_without_waiting_for_it(served_bank):
    with _raw(served_bank, b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: "
                           b"application/json\r\nContent-Length: 1000000\r\n\r\n{") as sock:
        status, headers, body = _answer(_read_all(sock))
    assert status == 413 and headers["connection"] == "close"
    assert json.loads(body)["error"]["code"] == "payload_too_large"


@pytest.mark.database_incidental
def test_pipelined_chunked_and_expect_continue_requests_are_answered(served_bank):
    login = b'{"email": "nobody@example.com", "password": "not this one"}'
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(login[i:i + 7]), login[i:i + 7])
                       for i in range(0, len(login), 7)) + b"0\r\n\r\n"
    pipelined = (b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
                 b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n" + chunked +
                 b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    with _raw(served_bank, pipelined) as sock:
        answers = _read_all(sock)
    assert re.findall(rb"HTTP/1.1 (\d{3}) ", answers) == [b"200", b"401", b"200"]
    expect = (b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Expect: 100-continue\r\nConnection: close\r\n"
              b"Content-Length: %d\r\n\r\n" % len(login))
    with _raw(served_bank, expect) as sock:
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(login)
        status, _headers, body = _answer(_read_all(sock))
    assert status == 401, body


@pytest.mark.database_incidental
def test_a_client_that_stops_reading_loses_its_connection_not_a_thread(served_bank):
    """Answers it does not take for 10 s are dropped, with the connection."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    with sock:
        sock.settimeout(30)
        sock.connect(_address(served_bank))
        sock.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n" * 300)
        time.sleep(12)
        try:
            answers = _read_all(sock)
        except ConnectionResetError:
            answers = b""
    assert answers.count(b"HTTP/1.1 200 ") < 300


def _customer(url) -> tuple[str, str]:
    """A new customer's token and current account id."""
    email = f"chunks{time.monotonic_ns()}@example.com"
    token = requests.post(f"{url}/auth/register", timeout=30, json={
        "email": email, "password": "correct horse", "name": "Chunk"}).json()["access_token"]
    accounts = requests.get(f"{url}/accounts", timeout=30,
                            headers={"Authorization": f"Bearer {token}"}).json()["accounts"]
    return token, next(a["id"] for a in accounts if a["type"] == "current")


def _chunked(url, path, token, body: bytes, key="") -> bytes:
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 8192]), body[i:i + 8192])
                      for i in range(0, len(body), 8192)) + b"0\r\n\r\n"
    head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            f"Authorization: Bearer {token}\r\nIdempotency-Key: {key or time.monotonic_ns()}\r\n"
            f"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    with _raw(url, head + chunks) as sock:
        return _read_all(sock)


def test_a_chunked_body_over_the_limit_is_413_and_moves_no_money(served_bank):
    """64 KiB of a valid top-up, then more: the bank must not act on the first 64 KiB."""
    token, account = _customer(served_bank)
    headers = {"Authorization": f"Bearer {token}"}
    before = requests.get(f"{served_bank}/accounts/{account}/balance", headers=headers,
                          timeout=30).json()
    head = b'{"amount":5}'
    body = head + b" " * (65536 - len(head)) + b"GARBAGE-NOT-JSON" * 100
    status, _, answer = _answer(_chunked(served_bank, f"/accounts/{account}/topup", token, body))
    assert status == 413 and json.loads(answer)["error"]["code"] == "payload_too_large"
    after = requests.get(f"{served_bank}/accounts/{account}/balance", headers=headers,
                         timeout=30).json()
    assert after == before


@pytest.mark.database_incidental
@pytest.mark.parametrize("chunks", [b"zz\r\n", b"-5\r\nhello\r\n0\r\n\r\n",
                                    b"2\r\n{}XX0\r\n\r\n", b"2\r\n{}\r\n0\r\nbad trailer\r\n\r\n"],
                         ids=["size not hex", "negative size", "no terminator", "bad trailer"])
def test_broken_chunked_framing_is_400_in_the_envelope(served_bank, chunks):
    head = (b"POST /auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: "
            b"application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    with _raw(served_bank, head + chunks) as sock:
        status, headers, body = _answer(_read_all(sock))
    assert status == 400 and headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["request_id"]


@pytest.mark.database_incidental
@pytest.mark.parametrize("request_, expected", [
    (b"GET /health?since=" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 9000 + b"\r\n\r\n", 431),
    (b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % n for n in range(101))
     + b"\r\n", 431),
    (b"get /me HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /health HTTP/1.1\r\nHost: x\r\nX-App-Version: 4\x7f\r\n\r\n", 400),
], ids=["request line", "header line", "header count", "lower-case method", "DEL in a header"])
def test_what_gunicorns_parser_refuses_is_answered_in_the_envelope(served_bank, request_,
                                                                    expected):
    with _raw(served_bank, request_) as sock:
        status, headers, body = _answer(_read_all(sock))
    assert status == expected and headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["request_id"] == headers["x-request-id"]


@pytest.mark.database_incidental
def test_a_get_announcing_a_body_over_the_limit_is_413_too(served_bank):
    with _raw(served_bank, b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
              ) as sock:
        status, _, body = _answer(_read_all(sock))
    assert status == 413 and json.loads(body)["error"]["code"] == "payload_too_large"
