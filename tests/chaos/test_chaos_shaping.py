"""The network shaping faults (bandwidth, cut, offline) the way a user runs the bank:
`banksim serve` (2 gunicorn workers, the bank's own worker), rules through the admin API,
and clients on raw sockets that see each byte, as docs/reference.md describes them."""
import socket
import time

import pytest
import requests

from tests.helpers.faults import caused_by

pytestmark = pytest.mark.slow
UNAUTHORIZED_BODY = 107  # GET /me without a token: the bank's 401 envelope


def add_rule(bank, rule: dict) -> dict:
    answer = requests.post(bank.url + "/admin/chaos/rules", headers=bank.admin_headers,
                           json=rule, timeout=10)
    assert answer.status_code == 201, answer.text
    time.sleep(1.2)  # docs/reference.md: every worker applies a change within a second
    return answer.json()


def get_raw(url: str, path: str, headers: dict | None = None, timeout_s: float = 90):
    """GET on a fresh keep-alive connection, read until the server closes or the body is
    whole: (head text or None, body bytes, [(seconds since the head, bytes so far)], how
    it ended: "whole", "closed" or "reset")."""
    host, port = url.removeprefix("http://").split(":")
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive",
             *(f"{k}: {v}" for k, v in (headers or {}).items())]
    with socket.create_connection((host, int(port)), timeout=timeout_s) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data, head, seen, started = b"", None, [], None
        while True:
            try:
                piece = sock.recv(65536)
            except ConnectionResetError:
                return head, data, seen, "reset"
            if not piece:
                return head, data, seen, "closed"
            if head is None:
                data += piece
                if b"\r\n\r\n" not in data:
                    continue
                raw_head, data = data.split(b"\r\n\r\n", 1)
                head, started = raw_head.decode("latin-1"), time.monotonic()
            else:
                data += piece
            seen.append((time.monotonic() - started, len(data)))
            if len(data) >= content_length(head):
                return head, data, seen, "whole"


def content_length(head: str) -> int:
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            return int(value)
    raise AssertionError(f"no Content-Length in {head!r}")


def test_bandwidth_sends_the_body_no_faster_than_its_rate_and_a_read_timeout_fires_mid_body(
        bank_serve):
    bank = bank_serve()
    rate = 40_000  # /openapi.json, about 120 kB: three seconds, in 10 kB chunks
    add_rule(bank, {"fault": {"type": "bandwidth", "bytes_per_s": rate},
                    "match": {"path": "/openapi.json"}})
    add_rule(bank, {"fault": {"type": "bandwidth", "bytes_per_s": 40},
                    "match": {"path": "/me"}})
    head, body, seen, ended = get_raw(bank.url, "/openapi.json")
    assert ended == "whole" and head.startswith("HTTP/1.1 200") and "X-Chaos-Rule" in head
    assert len(seen) >= 4  # in chunks, not in one piece
    # Never more than the rate allows since the head arrived (50 ms of slack for the
    # server's clock starting a moment before the client's).
    assert all(total <= rate * (at + 0.05) for at, total in seen), seen
    # A phone with a 0.5 s read timeout: the head comes at once, the body (107 bytes at
    # 40 B/s) does not, so the timeout fires in the middle of the answer.
    answer = requests.get(bank.url + "/me", timeout=(5, 0.5), stream=True)
    assert answer.status_code == 401 and "X-Chaos-Rule" in answer.headers
    with pytest.raises(requests.ConnectionError) as failed:
        answer.content  # noqa: B018 - reading the body is the point
    assert caused_by(failed.value, requests.packages.urllib3.exceptions.ReadTimeoutError)


def test_kill_switch_ends_a_dribbling_body_within_a_second(bank_serve):
    bank = bank_serve()
    add_rule(bank, {"fault": {"type": "bandwidth", "bytes_per_s": 1}, "match": {"path": "/me"}})
    answer = requests.get(bank.url + "/me", timeout=(5, 30), stream=True)
    assert answer.status_code == 401 and "X-Chaos-Rule" in answer.headers
    time.sleep(0.5)  # dribbling: at 1 B/s the body would take 107 s (cut at 60 s)
    disabled = requests.post(bank.url + "/admin/chaos/disable", headers=bank.admin_headers,
                             timeout=10)
    assert disabled.status_code == 200
    after_disable = time.monotonic()
    body = answer.content
    assert time.monotonic() - after_disable < 1.0
    assert len(body) == UNAUTHORIZED_BODY and body.startswith(b'{"error"')


def test_cut_delivers_exactly_n_bytes_then_closes_a_keep_alive_connection(bank_serve):
    bank = bank_serve()
    add_rule(bank, {"fault": {"type": "cut", "after_bytes": 20}, "match": {"path": "/me"}})
    for _ in range(4):  # fresh connections: both workers
        head, body, _seen, ended = get_raw(bank.url, "/me", timeout_s=10)
        assert head.startswith("HTTP/1.1 401") and content_length(head) == UNAUTHORIZED_BODY
        assert (body, ended) == (b'{"error":{"code":"un', "closed")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):  # IncompleteRead
        requests.get(bank.url + "/me", timeout=10).content  # noqa: B018


def test_cut_after_the_handler_commits_the_write_and_loses_its_answer(bank_serve):
    bank = bank_serve()
    token = requests.post(bank.url + "/auth/register", timeout=30, json={
        "email": "commuter@example.com", "password": "correct horse", "name": "Commuter"})
    assert token.status_code == 201, token.text
    me = {"Authorization": f"Bearer {token.json()['access_token']}"}
    add_rule(bank, {"fault": {"type": "cut", "after_bytes": 10}, "phase": "after",
                    "match": {"path": "/budgets/*", "methods": ["PUT"]}})
    answer = requests.put(bank.url + "/budgets/groceries", headers=me, json={"limit": 250},
                          timeout=10, stream=True)
    assert answer.status_code == 200 and "X-Chaos-Rule" in answer.headers
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        answer.content  # noqa: B018 - the body is what is cut
    budgets = requests.get(bank.url + "/budgets", headers=me, timeout=10).json()["budgets"]
    assert [(b["category"], b["limit"]) for b in budgets] == [("groceries", 250)]


def test_offline_refuses_a_device_for_its_window_and_then_serves_it(bank_serve):
    bank = bank_serve()
    add_rule(bank, {"fault": {"type": "offline", "for_s": 3}, "match": {"path": "/me"}})
    device = {"X-Device-Id": "phone-in-a-tunnel"}
    started = time.monotonic()
    refused = []
    while time.monotonic() - started < 2.0:  # inside the window, on fresh connections
        head, body, _seen, ended = get_raw(bank.url, "/me", device, timeout_s=10)
        refused.append((head, body, ended))
        time.sleep(0.1)
    assert len(refused) >= 5 and all(r == (None, b"", "reset") for r in refused), refused
    time.sleep(max(started + 3.5 - time.monotonic(), 0))
    served = [get_raw(bank.url, "/me", device, timeout_s=10) for _ in range(6)]
    assert all(head.startswith("HTTP/1.1 401") and ended == "whole"
               for head, _body, _seen, ended in served), served
    events = requests.get(bank.url + "/admin/chaos/events", headers=bank.admin_headers,
                          timeout=10).json()["events"]
    assert {e["fault"] for e in events} == {"offline"}
    assert len(events) == len(refused)


BAD_SETTINGS = [
    ({"type": "bandwidth", "bytes_per_s": 0}, "fault.bytes_per_s"),
    ({"type": "bandwidth", "bytes_per_s": 2.5}, "fault.bytes_per_s"),
    ({"type": "bandwidth", "bytes_per_s": "2kBps"}, "fault.bytes_per_s"),
    ({"type": "bandwidth"}, "fault.bytes_per_s"),
    ({"type": "cut", "after_bytes": -1}, "fault.after_bytes"),
    ({"type": "cut", "after_bytes": 10**12}, "fault.after_bytes"),
    ({"type": "offline", "for_s": 0}, "fault.for_s"),
    ({"type": "offline", "for_s": 36_000}, "fault.for_s"),
    ({"type": "offline", "for_s": True}, "fault.for_s"),
    ({"type": "offline", "for_s": 5, "device": "x"}, "fault.device"),
]


def test_shaping_rules_with_bad_settings_are_refused_and_nothing_is_saved(bank_serve):
    bank = bank_serve()
    for fault, field in BAD_SETTINGS:
        answer = requests.post(bank.url + "/admin/chaos/rules", headers=bank.admin_headers,
                               json={"fault": fault}, timeout=10)
        assert answer.status_code == 400, (fault, answer.text)
        assert answer.json()["error"]["field"] == field, (fault, answer.text)
    rules = requests.get(bank.url + "/admin/chaos/rules", headers=bank.admin_headers,
                         timeout=10).json()["rules"]
    assert rules == []
