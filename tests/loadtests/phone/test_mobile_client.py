"""The mobile client against a scripted session: headers, retries, checks, journeys."""
import json
from random import Random

import pytest

from loadtests.phone import journeys
from loadtests.phone.mobile import Device, Journey, MobileClient, StepFailed
from loadtests.phone.retry import POLICIES

NO_ANSWER = object()


class FakeResponse:
    def __init__(self, status, body=None, headers=None, raw=None):
        self.status_code = status
        self.content = raw if raw is not None else (json.dumps(body).encode() if body is not None
                                                    else b"")
        self.headers = headers or {}
        self.error = ConnectionResetError("reset") if status == 0 else None
        self.result = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def success(self):
        self.result = "success"

    def failure(self, why):
        self.result = f"failure: {why}"


class ScriptedSession:
    """Answers each request with the next scripted response; remembers what was sent."""

    def __init__(self, *answers):
        self.answers, self.sent = list(answers), []

    def request(self, method, path, **kw):
        assert kw["catch_response"] is True and kw["timeout"] == (5.0, 5.0)
        self.sent.append({"method": method, "path": path, **kw})
        response = self.answers.pop(0)
        self.sent[-1]["response"] = response
        return response


def make_client(*answers, policy="backoff", sleeps=None):
    device = Device(number=7, platform="ios", app_version="4.2.0", device_id="dev_1")
    session = ScriptedSession(*answers)
    client = MobileClient(session, device, POLICIES[policy], id_rng=Random(1),
                          jitter_rng=Random(2),
                          sleep=(sleeps.append if sleeps is not None else lambda s: None))
    client.token = "tok"
    return client, session


def error(status, code, headers=None):
    return FakeResponse(status, {"error": {"code": code, "message": "m", "request_id": "r"}},
                        headers)


def test_every_attempt_sends_the_app_headers_and_a_fresh_request_id():
    client, session = make_client(FakeResponse(0), FakeResponse(200, {"ok": 1}))
    client.call("GET", "/me")
    first, second = (s["headers"] for s in session.sent)
    for headers in (first, second):
        assert headers["X-App-Version"] == "4.2.0" and headers["X-Platform"] == "ios"
        assert headers["X-Device-Id"] == "dev_1" and headers["Authorization"] == "Bearer tok"
    assert first["X-Request-Id"] != second["X-Request-Id"]


def test_request_ids_replay_from_the_seed():
    ids = []
    for _ in range(2):
        client, session = make_client(FakeResponse(200, {}), FakeResponse(200, {}))
        client.call("GET", "/me")
        client.call("GET", "/accounts")
        ids.append([s["headers"]["X-Request-Id"] for s in session.sent])
    assert ids[0] == ids[1] and len(set(ids[0])) == 2


def test_retries_of_a_money_movement_reuse_its_idempotency_key():
    client, session = make_client(FakeResponse(0), error(503, "service_unavailable"),
                                  FakeResponse(200, raw=b'{"id": "tfr_'),
                                  FakeResponse(201, {"id": "tfr_1", "status": "completed"}))
    answer = client.call("POST", "/transfers", idempotency_key="idem_1", expect=(201,))
    assert answer.body["id"] == "tfr_1"
    assert [s["headers"]["Idempotency-Key"] for s in session.sent] == ["idem_1"] * 4
    assert (client.requests, client.retries) == (4, 3)


def test_backoff_sleeps_between_retries_and_honours_retry_after():
    sleeps = []
    client, _ = make_client(error(429, "too_many_requests", {"Retry-After": "2"}),
                            FakeResponse(0), FakeResponse(200, {}), sleeps=sleeps)
    client.call("GET", "/me")
    assert len(sleeps) == 2 and sleeps[0] >= 2 and 0 <= sleeps[1] <= 0.5


def test_none_policy_fails_at_the_first_failure():
    client, session = make_client(FakeResponse(0), policy="none")
    with pytest.raises(StepFailed, match="GET /me: no answer") as failed:
        client.call("GET", "/me")
    assert failed.value.status is None and len(session.sent) == 1


def test_naive_gives_up_after_three_retries_with_the_last_status():
    client, session = make_client(*[error(502, "bad_gateway")] * 4, policy="naive")
    with pytest.raises(StepFailed) as failed:
        client.call("GET", "/me")
    assert failed.value.status == 502 and len(session.sent) == 4
    assert all(s["response"].result.startswith("failure") for s in session.sent)


@pytest.mark.parametrize("answer", [error(400, "validation_error"), error(404, "not_found"),
                                    error(422, "idempotency_key_reused")])
def test_client_errors_are_not_retried(answer):
    client, session = make_client(answer)
    with pytest.raises(StepFailed):
        client.call("POST", "/transfers", idempotency_key="k", expect=(201,))
    assert len(session.sent) == 1


def test_idempotency_conflict_is_retried():
    client, session = make_client(error(409, "idempotency_conflict"),
                                  FakeResponse(201, {"id": "tfr_1"}))
    client.call("POST", "/transfers", idempotency_key="k", expect=(201,))
    assert len(session.sent) == 2


def test_insufficient_funds_is_a_business_answer_not_a_failure():
    client, session = make_client(error(422, "insufficient_funds"))
    answer = client.call("POST", "/payments", idempotency_key="k", expect=(201,),
                         accept=((422, "insufficient_funds"),))
    assert answer.status == 422 and session.sent[0]["response"].result == "success"


def test_a_2xx_of_the_wrong_shape_fails_without_retry():
    client, session = make_client(FakeResponse(201, {"id": "pay_1", "status": "pending"}))
    with pytest.raises(StepFailed, match="not completed"):
        client.call("POST", "/payments", idempotency_key="k", expect=(201,),
                    check=lambda b: None if b["status"] == "completed" else "not completed")
    assert len(session.sent) == 1


def test_journey_counts_requests_and_retries_and_swallows_step_failures():
    client, _ = make_client(FakeResponse(0), FakeResponse(200, {}), *[FakeResponse(0)] * 5)
    done = []
    with Journey("app_open", client, done.append) as journey:
        client.call("GET", "/me")
        client.call("GET", "/accounts")
    assert done == [journey] and not journey.ok
    assert (journey.requests, journey.retries) == (7, 5)
    assert journey.error.startswith("GET /accounts: no answer")
    assert journey.app_version == "4.2.0" and journey.failure.status is None


def test_journey_records_and_reraises_a_bug():
    client, _ = make_client()
    done = []
    with pytest.raises(KeyError):
        with Journey("send_money", client, done.append):
            {}["missing"]
    assert done[0].error.startswith("bug: KeyError")


def make_app(*answers, seeded_users=12):
    client, session = make_client(*answers)
    intents = []
    app = journeys.MobileApp(client, Random(3), seeded_users=seeded_users, adoption=0.35,
                             run_tag="t1", record_transfer=intents.append)
    app.account_id = "acc_1"
    return app, session, intents


def test_send_money_records_an_acknowledged_intent():
    app, session, intents = make_app(FakeResponse(0), FakeResponse(
        201, {"id": "tfr_9", "to_account_id": "acc_9", "status": "completed"}))
    journeys.send_money(app)
    sent = session.sent[0]["json"]
    assert sent["reference"].startswith("int_t1_") and sent["from_account_id"] == "acc_1"
    assert sent["to_email"] != "user7@example.com" and sent["currency"] == "GBP"
    assert intents == [{"intent": sent["reference"],
                        "idempotency_key": session.sent[0]["headers"]["Idempotency-Key"],
                        "from_email": "user7@example.com", "from_account_id": "acc_1",
                        "to_email": sent["to_email"], "to_account_id": "acc_9",
                        "amount": sent["amount"], "currency": "GBP", "acked": True,
                        "transfer_id": "tfr_9", "status": 201}]


def test_send_money_records_an_unacknowledged_intent_when_it_fails():
    app, _, intents = make_app(*[error(503, "service_unavailable")] * 5)
    with pytest.raises(StepFailed):
        journeys.send_money(app)
    assert intents[0]["acked"] is False and intents[0]["status"] == 503
    assert intents[0]["transfer_id"] is None


def test_payees_are_other_seeded_customers():
    app, _, _ = make_app(seeded_users=3)
    app.device.number = 2
    assert {app.other_customer() for _ in range(200)} == {"user1@example.com",
                                                          "user3@example.com"}
    app.device.number = 3
    assert {app.other_customer() for _ in range(200)} == {"user1@example.com",
                                                          "user2@example.com"}


def test_app_open_downloads_an_update_that_installs_after_the_journey():
    release = {"version": "4.2.1", "min_supported_version": "4.2.1"}
    app, _, _ = make_app(FakeResponse(200, release),
                         FakeResponse(200, {"email": "user7@example.com"}),
                         FakeResponse(200, {"accounts": [{"id": "acc_2", "type": "current"}]}),
                         FakeResponse(200, {"notifications": [], "next_cursor": None}))
    journeys.app_open(app)
    assert app.device.app_version == "4.2.0" and app.pending_version == "4.2.1"
    app.install_pending_update()
    assert app.device.app_version == "4.2.1" and app.account_id == "acc_2"
