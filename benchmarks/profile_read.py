"""Where one balance read's time goes, in-process (Flask's test client, no server).

    python benchmarks/profile_read.py                  # per-layer breakdown, CPU ms a read
    python benchmarks/profile_read.py --profile 3000   # plus cProfile of 3,000 reads
    python benchmarks/profile_read.py --database-url postgresql+psycopg://...

The breakdown times the same read with parts of the stack taken away (each figure is
the best of 5 rounds of `--reads` reads, CPU time per read), next to a bare Flask JSON
route and banksim's /health, so the cost of each layer is a difference of two lines.
R1 in benchmarks/README.md measures the same under gunicorn and wrk.
"""
import argparse
import cProfile
import logging
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from bankapi import create_app, init_database, shutdown  # noqa: E402
from benchmarks.bare_app import create_bare_app  # noqa: E402

HEADERS = {"X-App-Version": "4.1.3", "X-Platform": "ios"}


def bank(database_url: str, **config):
    app = create_app({"DATABASE_URL": database_url, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                      "ADMIN_TOKEN": "bench-admin", **config})
    init_database(app)
    client = app.test_client()
    email = f"bench{time.time_ns()}@example.com"
    body = client.post("/auth/register", json={"email": email, "name": "Bench",
                                               "password": "benchmark-pw"}).get_json()
    headers = {**HEADERS, "Authorization": f"Bearer {body['access_token']}"}
    account = client.get("/accounts", headers=headers).get_json()["accounts"][0]["id"]
    return app, client, headers, f"/accounts/{account}/balance"


def per_read_ms(client, path: str, headers: dict, reads: int, rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        began = time.process_time()
        for _ in range(reads):
            response = client.get(path, headers=headers)
        best = min(best, (time.process_time() - began) / reads)
        assert response.status_code == 200, response.get_data(as_text=True)
    return best * 1000


def breakdown(database_url: str, reads: int) -> list[tuple[str, float]]:
    bare = create_bare_app().test_client()
    rows = [("bare Flask JSON route", per_read_ms(bare, "/bare/balance", {}, reads))]
    app, client, headers, path = bank(database_url)
    rows.append(("banksim /health (SELECT 1 via the session)",
                 per_read_ms(client, "/health", {}, reads)))
    rows.append(("banksim balance read, server defaults",
                 per_read_ms(client, path, headers, reads)))
    access = logging.getLogger("banksim.access")
    level = access.level
    access.setLevel(logging.INFO)
    access.addHandler(handler := logging.NullHandler())
    rows.append(("  ... with the access log on", per_read_ms(client, path, headers, reads)))
    access.removeHandler(handler)
    access.setLevel(level)
    shutdown(app)
    app, client, headers, path = bank(database_url, CHAOS_ENABLED=False)
    rows.append(("  ... chaos layer off (BANKSIM_CHAOS=0)",
                 per_read_ms(client, path, headers, reads)))
    shutdown(app)
    app, client, headers, path = bank(database_url, TOKEN_CACHE_S=0)
    rows.append(("  ... token cache off (a token query a read)",
                 per_read_ms(client, path, headers, reads)))
    shutdown(app)
    return rows


def profile(database_url: str, reads: int) -> None:
    app, client, headers, path = bank(database_url)
    per_read_ms(client, path, headers, 200, rounds=1)  # warm caches
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(reads):
        client.get(path, headers=headers)
    profiler.disable()
    shutdown(app)
    stats = pstats.Stats(profiler).sort_stats("cumulative")
    stats.print_stats(45)
    stats.sort_stats("tottime").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--reads", type=int, default=1000, help="reads a round")
    parser.add_argument("--profile", type=int, default=0, help="cProfile this many reads")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        for name, ms in breakdown(url, args.reads):
            print(f"{name:48s} {ms:6.3f} ms")
        if args.profile:
            profile(url, args.profile)


if __name__ == "__main__":
    main()
