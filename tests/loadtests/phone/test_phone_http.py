"""The phones' FastHttpUser session, for real: a Locust subprocess (phone_probe.py, the
real MobileCustomer) against a recording HTTP server in this process that answers some
requests slowly, resets or hangs up once, or answers 503 with Retry-After."""
import csv
import json
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from loadtests.run.bank import free_port

pytestmark = pytest.mark.slow
PROBE = Path(__file__).with_name("phone_probe.py")
CLIENT_TIMEOUT_S = 0.5


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the bank's gunicorn

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.answer()

    def do_POST(self):
        self.answer()

    def answer(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        seen = self.server.seen
        count = sum(1 for s in seen if s["path"] == self.path) + 1
        seen.append({"method": self.command, "path": self.path, "body": body.decode(),
                     "headers": dict(self.headers), "peer": self.client_address[1]})
        if self.path == "/slow-once" and count == 1:
            time.sleep(CLIENT_TIMEOUT_S * 3)  # longer than the client waits for a read
        elif self.path == "/transfers" and count == 1:
            return self.reset()
        elif self.path == "/hang-up-once" and count == 1:
            self.connection.shutdown(socket.SHUT_RDWR)  # FIN, no answer
            self.close_connection = True
            return
        elif self.path == "/busy-once" and count == 1:
            return self.send(503, {"error": {"code": "service_unavailable"}}, {"Retry-After": "1"})
        elif self.path == "/payments":
            return self.send(422, {"error": {"code": "insufficient_funds"}}, split=True)
        elif self.path == "/not-json":
            return self.send(200, None, raw=b"<html>oops</html>")
        self.send(201 if self.command == "POST" else 200, {"ok": True})

    def send(self, status, body, headers=None, raw=None, split=False):
        data = raw if raw is not None else json.dumps(body).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {}),
                            "Content-Length": str(len(data))}.items():
            self.send_header(name, value)
        self.end_headers()
        if split:  # the body after the headers, in its own segment
            self.wfile.flush()
            time.sleep(0.05)
        self.wfile.write(data)

    def reset(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()  # RST
        self.close_connection = True


@pytest.fixture
def recorder():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.daemon_threads, server.seen = True, []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_phone_on_fasthttp_sends_the_app_headers_and_retries_like_the_app(recorder, tmp_path):
    url = f"http://127.0.0.1:{recorder.server_address[1]}"
    out, closed_port = tmp_path / "probe.json", free_port()
    run = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(PROBE), "ProbePhone", "--headless", "-u", "1",
         "-r", "1", "-t", "60s", "--host", url, "--client-timeout", str(CLIENT_TIMEOUT_S),
         "--probe-out", str(out), "--probe-closed-port", str(closed_port),
         "--csv", str(tmp_path / "run"), "--only-summary"],
        capture_output=True, text=True, timeout=90)
    assert out.exists(), run.stderr[-5000:]
    outcomes = {o["call"]: o for o in json.loads(out.read_text())}
    seen = recorder.seen

    # every attempt carries the app's headers and its own request id
    for s in seen:
        headers = s["headers"]
        assert headers["X-App-Version"] == "4.1.3" and headers["X-Platform"] == "android"
        assert headers["X-Device-Id"] == "dev_probe" and headers["Accept"] == "application/json"
        assert headers["Authorization"] == "Bearer tok_probe"
        assert headers["X-Request-Id"].startswith("req_")
    assert len({s["headers"]["X-Request-Id"] for s in seen}) == len(seen)
    # one keep-alive connection for consecutive answered requests
    first, second = (s for s in seen if s["path"] == "/me")
    assert first["peer"] == second["peer"]

    # slower than --client-timeout: no answer (a read timeout), then retried
    assert (outcomes["GET /slow-once"]["outcome"], outcomes["GET /slow-once"]["attempts"]) \
        == (200, 2)
    assert [s["path"] for s in seen].count("/slow-once") == 2
    # a reset connection: retried with the same Idempotency-Key and the same body
    transfers = [s for s in seen if s["path"] == "/transfers"]
    assert outcomes["POST /transfers"]["outcome"] == 201 and len(transfers) == 2
    assert {t["headers"]["Idempotency-Key"] for t in transfers} == {"idem_probe_1"}
    assert transfers[0]["body"] == transfers[1]["body"] == '{"amount": 1}'
    # an orderly close without an answer is the client's retry, not a hidden resend
    assert outcomes["GET /hang-up-once"]["attempts"] == 2
    assert [s["path"] for s in seen].count("/hang-up-once") == 2
    # a 422 whose body arrives after its headers is read and judged a business answer
    assert outcomes["POST /payments"]["outcome"] == 422
    # 503 with Retry-After: 1 holds the retry for at least a second (backoff honours it)
    assert outcomes["GET /busy-once"]["attempts"] == 2
    assert outcomes["GET /busy-once"]["delays"][0] >= 1.0
    # a 200 that is not JSON is a malformed answer, retried to the end of the policy
    assert outcomes["GET /not-json"]["outcome"] == "GET /not-json: 200 with a body that is not JSON"
    assert outcomes["GET /not-json"]["attempts"] == 5
    # nothing listening: no answer, retried to the end of the policy
    refused = outcomes[f"GET http://127.0.0.1:{closed_port}/refused"]
    assert refused["outcome"].endswith(": no answer (ConnectionError)")
    assert refused["attempts"] == 5

    with open(tmp_path / "run_stats.csv") as stats:
        rows = {(r["Type"], r["Name"]): r for r in csv.DictReader(stats)}
    assert rows["GET", "/slow-once"]["Failure Count"] == "1"
    assert rows["POST", "/transfers"]["Request Count"] == "2"
    with open(tmp_path / "run_failures.csv") as failures:
        errors = Counter((r["Name"], r["Error"]) for r in csv.DictReader(failures))
    assert errors[("/slow-once", "CatchResponseError('no answer (ReadTimeout)')")] == 1
    assert errors[("/transfers", "CatchResponseError('no answer (ConnectionError)')")] == 1
    assert errors[("/hang-up-once", "CatchResponseError('no answer (ConnectionError)')")] == 1
