"""What settling a card payment costs the bank in CPU: its steps one to a write transaction
against STEPS_PER_WRITE to one (bankapi/settler.py), in-process, interleaved in one run.

    python -m benchmarks.settlement_cost                    # 500 payments a round, 3 rounds
    python -m benchmarks.settlement_cost --payments 1000 --rounds 5

One bank on a fresh SQLite file with no settlement delay; each round makes `--payments`
card payments (pending, each with its hold), then settles them all with the settlement
worker's own pass (`Settler.run_once`), once with one step per transaction and once with
the shipped batch, in alternating order. The figure is the process CPU time per settled
payment (median of the rounds) and the ratio.
"""
import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bankapi import create_app, init_database, settler, shutdown
from benchmarks.write_path import customer, post


def pending_payments(client, headers: dict, account: str, count: int) -> None:
    for _ in range(count):
        post(client, "/payments", headers, {"account_id": account, "amount": 1,
                                            "merchant": "Tesco", "category": "groceries"})


def settle_all(app, steps_per_write: int) -> float:
    """CPU seconds per payment to settle everything due, `steps_per_write` at a time."""
    shipped, settler.STEPS_PER_WRITE = settler.STEPS_PER_WRITE, steps_per_write
    try:
        began, settled = time.process_time(), 0
        while (taken := settler.Settler(app, interval_s=0).run_once()):
            settled += taken
        return (time.process_time() - began) / max(settled, 1)
    finally:
        settler.STEPS_PER_WRITE = shipped


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--payments", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args(argv)
    batch = settler.STEPS_PER_WRITE
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"DATABASE_URL": f"sqlite:///{Path(tmp) / 'bank.db'}",
                          "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                          "ADMIN_TOKEN": "bench-admin", "SETTLEMENT_DELAY_S": 0})
        init_database(app)
        client = app.test_client()
        headers, account = customer(client, "payer")
        post(client, f"/accounts/{account}/topup", headers, {"amount": 90_000_000})
        figures: dict[int, list[float]] = {1: [], batch: []}
        try:
            for n in range(options.rounds):
                for size in ((1, batch) if n % 2 == 0 else (batch, 1)):
                    pending_payments(client, headers, account, options.payments)
                    figures[size].append(settle_all(app, size))
        finally:
            shutdown(app)
    one, many = (statistics.median(figures[size]) * 1000 for size in (1, batch))
    print(f"settling a card payment: {one:.3f} ms of CPU one step to a transaction, "
          f"{many:.3f} ms {batch} to a transaction (median of {options.rounds} rounds of "
          f"{options.payments}); ratio {many / one:.2f}")


if __name__ == "__main__":
    main()
