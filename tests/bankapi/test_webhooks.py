"""Webhooks: registration and its refusals, the outbox written with the movement, signed
delivery, retries and giving up."""
import json

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bankapi.database.db import db
from bankapi.domain import outbox
from bankapi.models import LedgerEntry, WebhookEvent
from loadtests.receiver.receiver import verify
from tests.helpers.webhooks import drain, pay, start_receiver


@pytest.fixture
def receiver():
    server = start_receiver()
    yield server
    server.stop()


def register(customer, url, **fields):
    return customer.client.post("/webhooks", json={"url": url, **fields},
                                headers=customer.headers)




def deliveries(customer, hook_id):
    response = customer.get(f"/webhooks/{hook_id}/deliveries")
    assert response.status_code == 200, response.json
    return response.json["deliveries"]


def test_the_secret_is_shown_once_and_the_list_never_shows_it(alice):
    created = register(alice, "http://127.0.0.1:9/hook", events=["transaction.created"])
    assert created.status_code == 201, created.json
    assert created.json["secret"].startswith("whsec_")
    assert created.json["events"] == ["transaction.created"]
    listed = alice.get("/webhooks").json["webhooks"]
    assert [hook["id"] for hook in listed] == [created.json["id"]]
    assert "secret" not in listed[0]


@pytest.mark.parametrize("url", [
    "ftp://example.com/hook", "file:///etc/passwd", "javascript:alert(1)", "gopher://127.0.0.1/",
    "http://10.0.0.1/hook", "http://192.168.1.20/", "http://172.16.0.1/",
    "http://169.254.169.254/latest/meta-data", "http://[fd00::1]/", "http://[fe80::1]/",
    "http://[::a00:1]/", "http://[64:ff9b::a9fe:a9fe]/", "http://[2002:a00:1::]/",
    "http://0.0.0.0:8000/", "http://[::ffff:10.0.0.1]/", "http://224.0.0.1/",
    "http://user:pw@127.0.0.1/", "http:///nohost", "http://127.0.0.1/" + "a" * 10_240,
    "http://no-such-host.invalid/",
])
def test_bad_urls_are_refused_naming_the_field_and_nothing_is_written(
        alice, url, assert_nothing_written):
    response = register(alice, url)
    assert response.status_code == 400, response.json
    assert response.json["error"]["field"] == "url"
    assert_nothing_written()


def test_unknown_event_types_are_refused(alice, assert_nothing_written):
    response = register(alice, "http://127.0.0.1:9/", events=["transaction.deleted"])
    assert response.status_code == 400
    assert response.json["error"]["field"].startswith("events")
    assert_nothing_written()


def test_another_users_webhook_looks_like_none(alice, bob):
    hook = register(alice, "http://127.0.0.1:9/").json["id"]
    assert bob.get(f"/webhooks/{hook}/deliveries").status_code == 404
    assert bob.client.delete(f"/webhooks/{hook}", headers=bob.headers).status_code == 404
    assert bob.get("/webhooks").json["webhooks"] == []
    assert alice.client.delete(f"/webhooks/{hook}", headers=alice.headers).status_code == 204
    assert alice.get("/webhooks").json["webhooks"] == []


def test_an_event_is_written_with_each_movement_and_only_when_someone_listens(app, alice, bob):
    pay(alice)  # nobody listens yet
    register(alice, "http://127.0.0.1:9/")
    pay(alice)
    alice.post("/transfers", json={"from_account_id": alice.account_id, "amount": 5,
                                   "currency": "GBP", "to_account_id": bob.account_id},
               key="t1")
    with app.app_context():
        events = db.session.scalars(select(WebhookEvent).order_by(WebhookEvent.sequence)).all()
        mine = db.session.scalars(select(LedgerEntry.id).where(
            LedgerEntry.account_id == alice.account_id)).all()
    assert [e.type for e in events] == ["transaction.created", "transaction.created"]
    assert [e.sequence for e in events] == [1, 2]
    assert {json.loads(e.data)["transaction_id"] for e in events} <= set(mine)
    assert {e.user_id for e in events} == {alice.id}  # bob has no webhook


def test_balance_low_fires_when_a_payment_crosses_the_threshold(app, alice):
    register(alice, "http://127.0.0.1:9/", events=["balance.low"])
    pay(alice, 100_00 - outbox.LOW_BALANCE + 1)  # leaves £9.99
    with app.app_context():
        events = db.session.scalars(select(WebhookEvent)).all()
    assert [(e.type, json.loads(e.data)["balance"]) for e in events] == [
        ("balance.low", outbox.LOW_BALANCE - 1)]


def test_a_database_failure_between_movement_and_event_leaves_neither(
        app, alice, monkeypatch):
    register(alice, "http://127.0.0.1:9/")
    with app.app_context():
        entries_before = len(db.session.scalars(select(LedgerEntry.id)).all())

    def broken(*_args, **_kwargs):
        raise OperationalError("INSERT INTO webhook_events", {}, Exception("disk I/O error"))
    monkeypatch.setattr(outbox, "record", broken)
    response = alice.post("/payments", json={"account_id": alice.account_id, "amount": 100,
                                             "merchant": "Tesco", "category": "groceries"},
                          key="k")
    assert response.status_code == 503, response.json
    with app.app_context():
        assert len(db.session.scalars(select(LedgerEntry.id)).all()) == entries_before
        assert db.session.scalars(select(WebhookEvent)).all() == []
    monkeypatch.undo()
    pay(alice)
    with app.app_context():
        assert len(db.session.scalars(select(WebhookEvent)).all()) == 1


def test_a_delivery_is_signed_and_carries_the_event(app, alice, receiver):
    created = register(alice, receiver.url).json
    receiver.receiver.secret = created["secret"]
    pay(alice)
    drain(app, lambda: receiver.receiver.summary()["accepted"] == 1)
    (event,) = receiver.receiver.events.values()
    assert set(event) >= {"id", "type", "created", "account_id", "sequence", "data"}
    assert event["account_id"] == alice.account_id and event["sequence"] == 1
    (delivery,) = deliveries(alice, created["id"])
    assert delivery["state"] == "delivered" and delivery["last_status"] == 200
    assert delivery["event_id"] == event["id"] and delivery["latency_ms"] >= 0


def test_the_receiver_refuses_a_bad_signature(app, alice, receiver):
    register(alice, receiver.url)
    receiver.receiver.secret = "whsec_not_the_one"
    pay(alice)
    drain(app, lambda: receiver.receiver.summary()["bad_signatures"] >= 1)
    assert receiver.receiver.summary()["accepted"] == 0
    body = b'{"id":"evt_1"}'
    assert verify("s", "t=1,v1=00", body) is not None  # stale and wrong
    assert verify("s", "", body) is not None


@pytest.mark.parametrize("app", [{"WEBHOOK_GIVE_UP_S": 1.5}], indirect=True)
def test_a_receiver_that_is_down_is_retried_then_the_delivery_fails(app, alice):
    from tests.helpers.webhooks import start_receiver as start
    down = start()
    url = down.url
    down.stop()  # nothing listens there any more
    hook = register(alice, url).json["id"]
    pay(alice)
    drain(app, lambda: deliveries(alice, hook)[0]["state"] == "failed")
    (delivery,) = deliveries(alice, hook)
    assert delivery["attempts"] >= 2 and delivery["last_status"] is None
    assert delivery["delivered_at"] is None


@pytest.mark.parametrize("app", [{"WEBHOOK_GIVE_UP_S": 1.0}], indirect=True)
def test_a_redirect_is_not_followed(app, alice):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    import threading
    hits = []

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_):
            pass
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        hook = register(alice, f"http://127.0.0.1:{httpd.server_address[1]}/hook").json["id"]
        pay(alice)
        drain(app, lambda: deliveries(alice, hook)[0]["state"] == "failed")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert set(hits) == {"/hook"}
    assert deliveries(alice, hook)[0]["last_status"] == 302


def test_admin_webhook_receives_every_customers_events(app, client, admin_headers, alice, bob,
                                                       receiver):
    created = client.post("/admin/webhooks", json={"url": receiver.url}, headers=admin_headers)
    assert created.status_code == 201, created.json
    assert client.post("/admin/webhooks", json={"url": receiver.url}).status_code == 401
    receiver.receiver.secret = created.json["secret"]
    pay(alice)
    pay(bob)
    drain(app, lambda: receiver.receiver.summary()["accepted"] == 2)
    assert {e["account_id"] for e in receiver.receiver.events.values()} == {
        alice.account_id, bob.account_id}
    listed = client.get(f"/admin/webhooks/{created.json['id']}/deliveries",
                        headers=admin_headers).json["deliveries"]
    assert {d["state"] for d in listed} == {"delivered"}


def _hostile_receiver(behaviour):
    """A TCP server that reads the request and then does `behaviour(connection)`."""
    import socket
    import threading
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            connection.recv(65536)
            threading.Thread(target=behaviour, args=(connection, stop), daemon=True).start()
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    def close():
        stop.set()
        thread.join(timeout=5)
        listener.close()
    return f"http://127.0.0.1:{listener.getsockname()[1]}/", close


def _silent(connection, stop):
    stop.wait(30)  # never answers
    connection.close()


def _trickle(connection, stop):
    try:
        connection.sendall(b"HTTP/1.1 200 OK\r\n")
        while not stop.wait(0.1):
            connection.sendall(b"X-Slow: a\r\n")  # headers, a line at a time, for ever
    except OSError:
        pass
    connection.close()


def _trickled_body(connection, stop):
    """Headers at once, saying the connection will close, then the body a byte at a time:
    http.client lets go of the connection's socket while the body is still being read."""
    try:
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n"
                           b"Connection: close\r\n\r\n")
        while not stop.wait(0.1):
            connection.sendall(b"x")
    except OSError:
        pass
    connection.close()


def _huge(connection, stop):
    try:
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n")
        while not stop.is_set():
            connection.sendall(b"x" * 65536)
    except OSError:
        pass
    connection.close()


@pytest.mark.parametrize("app", [{"WEBHOOK_TIMEOUT_S": 0.5, "WEBHOOK_GIVE_UP_S": 0.2}],
                         indirect=True)
@pytest.mark.parametrize("behaviour, state", [(_silent, "failed"), (_trickle, "failed"),
                                              (_trickled_body, "failed"), (_huge, "delivered")])
def test_a_hostile_receiver_holds_a_delivery_no_longer_than_its_deadline(
        app, alice, behaviour, state):
    url, close = _hostile_receiver(behaviour)
    try:
        hook = register(alice, url).json["id"]
        pay(alice)
        drain(app, lambda: deliveries(alice, hook)[0]["state"] != "pending", timeout_s=10)
    finally:
        close()
    (delivery,) = deliveries(alice, hook)
    assert delivery["state"] == state, delivery  # a huge answer: 200, its body left unread
