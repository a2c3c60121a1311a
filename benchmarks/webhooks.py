"""Webhooks: what the outbox adds to a payment, and how fast one dispatcher delivers.

    python -m benchmarks.webhooks                      # SQLite, 1,000 payments a variant a round
    python -m benchmarks.webhooks --writes 500 --rounds 3
    python -m benchmarks.webhooks --database-url postgresql+psycopg://...   # wipes that db

One in-process bank (Flask's test client, no server), two customers: one with no webhook,
one with a webhook pointing at the reference receiver (`loadtests.receiver`) on loopback.

- W1, the outbox's cost: CPU time per `POST /payments` for the customer with a webhook
  (the event and its delivery row written in the payment's transaction) against the one
  without (the outbox only looks for listeners), interleaved rounds, medians: a ratio.
- W2, one dispatcher's rate: the deliveries W1 left pending are sent by one `Dispatcher`
  (`run_once` in a loop: claim a batch, send it on its 4 threads, record each outcome),
  events delivered per second, against the ceiling of the same signed POSTs to the same
  receiver on the same 4 threads with no database at all: a ratio.
"""
import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from bankapi import create_app, init_database, shutdown
from bankapi.webhooks import sender
from bankapi.webhooks.dispatcher import Dispatcher
from benchmarks.write_path import customer, per_request_ms, post
from loadtests.receiver.receiver import Receiver
from loadtests.receiver.server import ReceiverServer


def payments(account: str, count: int) -> list[dict]:
    return [{"account_id": account, "amount": 1_00, "merchant": "Pret A Manger",
             "category": "eating_out"} for _ in range(count)]


def outbox_cost(client, quiet, hooked, writes: int, rounds: int) -> dict:
    (q_headers, q_account), (h_headers, h_account) = quiet, hooked
    per_request_ms(client, "/payments", q_headers, payments(q_account, 50))  # warm caches
    per_request_ms(client, "/payments", h_headers, payments(h_account, 50))
    figures = {"without": [], "with": []}
    for _ in range(rounds):
        figures["without"].append(per_request_ms(client, "/payments", q_headers,
                                                 payments(q_account, writes)))
        figures["with"].append(per_request_ms(client, "/payments", h_headers,
                                              payments(h_account, writes)))
    return {name: statistics.median(values) for name, values in figures.items()}


def dispatcher_rate(app, receiver: Receiver, expected: int) -> float:
    dispatcher = Dispatcher(app)
    began = time.perf_counter()
    while receiver.summary()["accepted"] < expected:
        if not dispatcher.run_once():
            if time.perf_counter() - began > 600:
                raise SystemExit(f"only {receiver.summary()} of {expected} events arrived")
            time.sleep(0.01)
    elapsed = time.perf_counter() - began
    dispatcher.pool.shutdown()
    return expected / elapsed


def ceiling_rate(url: str, secret: str, count: int) -> float:
    body = b'{"id":"evt_%d","account_id":"acc_ceiling","sequence":%d}'

    def send(n):
        data = body % (n, n)
        status, _ = sender.post(url, data, {"Content-Type": "application/json",
                                            sender.SIGNATURE: sender.signature(secret, data)}, 5)
        assert status == 200
    began = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(send, range(count)))
    return count / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--writes", type=int, default=1000, help="payments a variant a round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        app = create_app({"DATABASE_URL": url, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                          "ADMIN_TOKEN": "bench-admin"})
        init_database(app)
        client = app.test_client()
        server = ReceiverServer(Receiver(None, hold_s=0.0)).start()
        try:
            quiet, hooked = customer(client, "quiet"), customer(client, "hooked")
            for headers, account in (quiet, hooked):
                post(client, f"/accounts/{account}/topup", headers, {"amount": 90_000_000})
            hook = client.post("/webhooks", json={"url": server.url, "events": [
                "transaction.created"]}, headers=hooked[0]).get_json()
            server.receiver.secret = hook["secret"]
            cost = outbox_cost(client, quiet, hooked, args.writes, args.rounds)
            events = 50 + args.writes * args.rounds  # the warm-up and the rounds' payments
            rate = dispatcher_rate(app, server.receiver, events)
            ceiling = ceiling_rate(server.url, hook["secret"], events)
        finally:
            server.stop()
            shutdown(app)
    print(f"W1 POST /payments CPU: {cost['without']:.3f} ms without a webhook, "
          f"{cost['with']:.3f} ms with one: x{cost['with'] / cost['without']:.2f}")
    print(f"W2 one dispatcher: {rate:.0f} events/s delivered; the same POSTs without a "
          f"database {ceiling:.0f}/s: x{rate / ceiling:.2f} of the ceiling ({events} events)")


if __name__ == "__main__":
    main()
