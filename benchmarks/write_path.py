"""What one payment and one transfer cost the bank in CPU, in-process (Flask's test client,
no server), so a change to the write path can be weighed against its parent commit.

    python -m benchmarks.write_path                       # 2,000 of each, 3 rounds, SQLite
    python -m benchmarks.write_path --writes 500 --rounds 5
    python -m benchmarks.write_path --database-url postgresql+psycopg://...   # wipes that db

One bank, two customers (the payer holds plenty, and half the payments are in a category
with a budget, half in one without): each round makes `--writes` card
payments, then `--writes` transfers, each with a fresh Idempotency-Key, and reports the
process CPU time per request (client side included: the test client's share is the same
on both sides of a comparison). The figure printed is the median of the rounds. It imports
the tree it sits in, so to compare with another commit copy it into that commit's tree
(`git archive REV | tar -x -C /tmp/base`) and run both, one after the other.
"""
import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from bankapi import create_app, init_database, shutdown

ROOT = Path(__file__).resolve().parent


HEADERS = {"X-App-Version": "4.1.3", "X-Platform": "ios"}
CATEGORIES = ("eating_out", "groceries")  # eating_out has a budget, groceries none


def customer(client, name: str) -> tuple[dict, str]:
    email = f"{name}{time.time_ns()}@example.com"
    body = client.post("/auth/register", json={"email": email, "name": name,
                                               "password": "benchmark-pw"}).get_json()
    headers = {**HEADERS, "Authorization": f"Bearer {body['access_token']}"}
    account = client.get("/accounts", headers=headers).get_json()["accounts"][0]["id"]
    return headers, account


def post(client, path: str, headers: dict, body: dict, expect: int = 201) -> None:
    response = client.post(path, json=body,
                           headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == expect, response.get_data(as_text=True)


def per_request_ms(client, path: str, headers: dict, bodies) -> float:
    began, count = time.process_time(), 0
    for body in bodies:
        post(client, path, headers, body)
        count += 1
    return (time.process_time() - began) / count * 1000


def measure(database_url: str, writes: int, rounds: int) -> dict[str, list[float]]:
    app = create_app({"DATABASE_URL": database_url, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                      "ADMIN_TOKEN": "bench-admin"})
    init_database(app)
    client = app.test_client()
    payer, payer_account = customer(client, "payer")
    _, payee_account = customer(client, "payee")
    post(client, f"/accounts/{payer_account}/topup", payer, {"amount": 90_000_000})
    budget = client.put("/budgets/eating_out", json={"limit": 5_000_00}, headers=payer)
    assert budget.status_code == 200, budget.get_data(as_text=True)
    payments = [{"account_id": payer_account, "amount": 1_25, "merchant": "Pret A Manger",
                 "category": CATEGORIES[n % 2]} for n in range(writes)]
    transfers = [{"from_account_id": payer_account, "to_account_id": payee_account,
                  "amount": 1_00, "currency": "GBP", "reference": "rent"}] * writes
    per_request_ms(client, "/payments", payer, payments[:50])  # warm SQLAlchemy's caches
    per_request_ms(client, "/transfers", payer, transfers[:50])
    results = {"payment": [], "transfer": []}
    for _ in range(rounds):
        results["payment"].append(per_request_ms(client, "/payments", payer, payments))
        results["transfer"].append(per_request_ms(client, "/transfers", payer, transfers))
    shutdown(app)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--writes", type=int, default=2000, help="payments (and transfers) a round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        results = measure(url, args.writes, args.rounds)
    for kind, figures in results.items():
        rounds = " ".join(f"{ms:.3f}" for ms in figures)
        print(f"POST /{kind}s  median {statistics.median(figures):.3f} ms CPU a request"
              f"  (rounds: {rounds})")


if __name__ == "__main__":
    main()
