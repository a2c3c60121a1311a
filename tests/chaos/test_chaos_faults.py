"""Each fault on its own, then through the middleware on real sockets
(werkzeug's threaded server in this process, and gunicorn's gthread worker)."""
import json
import logging
import random
import time

import pytest
import requests

from chaos.faults import Exchange, FaultSettingsError, build_fault
from chaos.faults.base import BufferedResponse
from tests.helpers.faults import caused_by, wsgi_call


def hello_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"hello": "world"}']


def run_fault(spec, response=None, environ=None):
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, dict(headers)
    exchange = Exchange(environ or {}, start_response, hello_app, "rule_x", "req-1",
                        random.Random(1), response)
    body = b"".join(build_fault(spec).inject(exchange))
    return seen["status"], seen["headers"], body


def test_latency_delays_then_answers_correctly():
    started = time.monotonic()
    status, headers, body = run_fault({"type": "latency", "ms": 120})
    assert time.monotonic() - started >= 0.12
    assert (status, json.loads(body)) == ("200 OK", {"hello": "world"})
    assert headers["X-Chaos-Rule"] == "rule_x" and headers["X-Request-Id"] == "req-1"


@pytest.mark.parametrize("spec, low, high", [
    ({"distribution": "uniform", "min_ms": 10, "max_ms": 20}, 10, 20),
    ({"distribution": "lognormal", "median_ms": 100, "sigma": 0.5}, 1, 60_000),
    ({"distribution": "lognormal", "median_ms": 60_000, "sigma": 5}, 0, 60_000),
])
def test_latency_distributions_stay_in_range_and_under_the_cap(spec, low, high):
    fault = build_fault({"type": "latency", **spec})
    rng = random.Random(3)
    draws = [fault.delay_ms(rng) for _ in range(500)]
    assert low <= min(draws) and max(draws) <= high


def test_error_answers_the_envelope_with_retry_after():
    status, headers, body = run_fault({"type": "error", "status": 503, "retry_after_s": 7})
    assert status.startswith("503")
    assert headers["Retry-After"] == "7" and headers["X-Chaos-Rule"] == "rule_x"
    assert json.loads(body) == {"error": "injected failure (chaos)", "status": 503,
                                "request_id": "req-1"}


def test_error_answers_in_the_hosts_format_when_it_gives_one():
    seen = {}
    exchange = Exchange({}, lambda status, headers, exc_info=None: seen.update(status=status),
                        hello_app, "rule_x", "req-1", random.Random(1),
                        error_body=lambda status, request_id: f"{status}:{request_id}".encode())
    body = b"".join(build_fault({"type": "error", "status": 502}).inject(exchange))
    assert seen["status"].startswith("502") and body == b"502:req-1"


def test_error_without_retry_after_sends_no_header():
    status, headers, _ = run_fault({"type": "error", "status": 429})
    assert status.startswith("429") and "Retry-After" not in headers


@pytest.mark.parametrize("mode", ["truncated", "garbage", "empty"])
def test_malformed_bodies_do_not_parse(mode):
    status, headers, body = run_fault({"type": "malformed", "mode": mode})
    assert status == "200 OK" and headers["Content-Length"] == str(len(body))
    with pytest.raises(ValueError):
        json.loads(body)


def test_truncated_after_the_handler_cuts_the_real_answer():
    real = BufferedResponse("201 CREATED", [], b'{"id": "tfr_1", "status": "completed"}')
    _, _, body = run_fault({"type": "malformed", "mode": "truncated"}, response=real)
    assert real.body.startswith(body) and 0 < len(body) < len(real.body)


def test_reset_and_timeout_raise_what_servers_treat_as_a_dropped_client():
    with pytest.raises(ConnectionResetError):
        run_fault({"type": "reset"})
    with pytest.raises(BrokenPipeError):
        run_fault({"type": "timeout", "hang_ms": 1})


@pytest.mark.parametrize("spec, field", [
    ({"type": "latency"}, "ms"),
    ({"type": "latency", "ms": 60_001}, "ms"),
    ({"type": "latency", "ms": 5, "min_ms": 1}, "min_ms"),
    ({"type": "latency", "distribution": "uniform", "min_ms": 9, "max_ms": 3}, "min_ms"),
    ({"type": "error", "status": 404}, "status"),
    ({"type": "error"}, "status"),
    ({"type": "reset", "ms": 3}, "ms"),
    ({"type": "timeout"}, "hang_ms"),
    ({"type": "malformed", "mode": "rude"}, "mode"),
    ({"type": "teleport"}, "type"),
])
def test_bad_settings_name_the_setting(spec, field):
    with pytest.raises(FaultSettingsError) as raised:
        build_fault(spec)
    assert raised.value.field == field


# --- through the middleware, in process -------------------------------------------------

def test_after_phase_runs_the_handler_before_the_fault(app, add_rule):
    add_rule({"type": "error", "status": 502}, phase="after", match={"path": "/transfers"})
    status, headers, _ = wsgi_call(app.wsgi_app, "/transfers", "POST")
    assert status.startswith("502") and len(app.config["WRITES"]) == 1
    assert headers["X-Chaos-Rule"].startswith("rule_")


def test_latency_keeps_the_apps_request_id(app, add_rule):
    add_rule({"type": "latency", "ms": 1})
    _, headers, body = wsgi_call(app.wsgi_app, headers={"X-Request-Id": "abc-1"})
    assert json.loads(body)["hello"] == "world" and headers["X-Request-Id"] == "abc-1"


# --- over real sockets -------------------------------------------------------------------

@pytest.fixture(params=["werkzeug", "gunicorn", "bankapi.worker.BufferedThreadWorker"])
def serve(request, live_server, start_gunicorn):
    """Start a server (call after adding rules); returns (base url, server log or None).
    The last is gthread as `banksim serve` runs it (requests read whole first)."""
    if request.param == "werkzeug":
        return lambda: (live_server, None)

    def start():
        server = start_gunicorn(**({} if request.param == "gunicorn"
                                   else {"worker_class": request.param}))
        return server.url, server
    return start


def assert_quiet(server, caplog):
    if server is None:
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    else:
        assert "Traceback" not in server.log() and "[ERROR]" not in server.log()


def test_reset_drops_the_connection_and_the_server_keeps_serving(serve, add_rule, caplog):
    add_rule({"type": "reset"}, match={"path": "/hello"})
    url, server = serve()
    for _ in range(3):
        with pytest.raises(requests.ConnectionError) as raised:
            requests.get(url + "/hello", timeout=5)
        assert caused_by(raised.value, ConnectionResetError), raised.value
        assert requests.get(url + "/writes", timeout=5).json() == {"writes": 0}
    assert_quiet(server, caplog)


def test_after_phase_reset_commits_the_work_but_loses_the_answer(serve, add_rule, caplog):
    add_rule({"type": "reset"}, phase="after", match={"path": "/transfers", "methods": ["POST"]})
    url, server = serve()
    with pytest.raises(requests.ConnectionError):
        requests.post(url + "/transfers", json={"amount": 5}, timeout=5)
    assert requests.get(url + "/writes", timeout=5).json() == {"writes": 1}
    assert_quiet(server, caplog)


def test_timeout_hangs_then_closes_without_an_answer(serve, add_rule, caplog):
    add_rule({"type": "timeout", "hang_ms": 300}, match={"path": "/hello"})
    url, server = serve()
    started = time.monotonic()
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/hello", timeout=10)
    assert time.monotonic() - started >= 0.3
    with pytest.raises(requests.ReadTimeout):
        requests.get(url + "/hello", timeout=0.1)
    assert requests.get(url + "/writes", timeout=5).ok
    assert_quiet(server, caplog)


@pytest.mark.parametrize("mode", ["truncated", "garbage", "empty"])
def test_malformed_answers_200_that_does_not_parse(serve, add_rule, mode):
    rule = add_rule({"type": "malformed", "mode": mode})
    url, _ = serve()
    response = requests.get(url + "/hello", headers={"X-Request-Id": "r-1"}, timeout=5)
    assert response.status_code == 200 and response.headers["X-Chaos-Rule"] == rule["id"]
    assert response.headers["X-Request-Id"] == "r-1"
    with pytest.raises(requests.JSONDecodeError):
        response.json()


def test_error_answers_envelope_retry_after_and_rule(serve, add_rule):
    rule = add_rule({"type": "error", "status": 503, "retry_after_s": 3})
    url, _ = serve()
    response = requests.get(url + "/hello", timeout=5)
    assert response.status_code == 503 and response.headers["Retry-After"] == "3"
    assert response.headers["X-Chaos-Rule"] == rule["id"] and response.headers["X-Request-Id"]
    assert response.json()["error"]["code"] == "service_unavailable"
    assert response.json()["error"]["request_id"] == response.headers["X-Request-Id"]


def test_latency_answers_slowly_but_correctly(serve, add_rule):
    rule = add_rule({"type": "latency", "ms": 200})
    url, _ = serve()
    started = time.monotonic()
    response = requests.get(url + "/hello", timeout=30)
    assert time.monotonic() - started >= 0.2
    assert response.json()["hello"] == "world" and response.headers["X-Chaos-Rule"] == rule["id"]


def test_exempt_paths_are_never_touched(serve, add_rule):
    add_rule({"type": "reset"})
    url, _ = serve()
    assert requests.get(url + "/health", timeout=5).ok
    assert requests.get(url + "/admin/chaos", timeout=5).json()["enabled"] is True


def test_faults_asked_for_in_one_header_share_one_minute_of_waiting():
    from chaos.header_faults import ChainedFaults, parse
    asked = parse("latency=40s; timeout=40s")
    waits = []

    class Recording:
        def hold(self, seconds):
            waits.append(seconds)
            return True

        environ, rng = {}, random.Random(1)
    chain = ChainedFaults(asked.faults)
    with pytest.raises(BrokenPipeError):  # the timeout, cut short by the budget, hangs up
        chain.inject(Recording())
    assert waits == [40.0, 20.0]
