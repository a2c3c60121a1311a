"""Where one balance read's time goes, in-process (Flask's test client, no server).

    python -m benchmarks.profile_read                  # per-layer breakdown, CPU ms a read
    python -m benchmarks.profile_read --profile 3000   # plus cProfile of 3,000 reads
    python -m benchmarks.profile_read --database-url postgresql+psycopg://...

The breakdown times the same read with parts of the stack taken away (each figure is
the best of `--rounds` interleaved rounds of `--reads` reads, CPU time per read), next to
a bare Flask JSON route and banksim's /health, so a layer's cost is the difference of two
lines.
R1 in benchmarks/README.md measures the same under gunicorn and wrk.
"""
import argparse
import cProfile
import os
import pstats
import tempfile
import time
from contextlib import contextmanager, nullcontext, redirect_stderr
from functools import partial
from pathlib import Path

from bankapi import create_app, init_database, shutdown
from benchmarks.bare_app import create_bare_app

ROOT = Path(__file__).resolve().parent


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


def per_read_ms(client, path: str, headers: dict, reads: int) -> float:
    began = time.process_time()
    for _ in range(reads):
        response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return (time.process_time() - began) / reads * 1000


@contextmanager
def stderr_to_devnull():
    """The access log's lines (written to stderr by its own thread) go nowhere."""
    with open(os.devnull, "w") as devnull, redirect_stderr(devnull):
        yield


def breakdown(database_url: str, reads: int, rounds: int) -> list[tuple[str, float]]:
    """Every variant measured once a round, rounds interleaved; the best round of each."""
    bare = (create_bare_app().test_client(), "/bare/balance", {})
    app, client, headers, path = bank(database_url)
    read = (client, path, headers)
    variants = [("bare Flask JSON route", bare, nullcontext),
                ("banksim /health (one SELECT 1)", (client, "/health", {}), nullcontext),
                ("banksim balance read (access log off)", read, nullcontext)]
    variants += [(f"  ... without the hook {name}", read, partial(without_hook, app, name))
                 for name in hook_names(app)]
    apps = [app]
    for name, config in (("  ... with the access log on (to /dev/null)", {"ACCESS_LOG": True}),
                         ("  ... chaos layer off (BANKSIM_CHAOS=0)", {"CHAOS_ENABLED": False}),
                         ("  ... token cache off (a token query a read)", {"TOKEN_CACHE_S": 0})):
        other, other_client, other_headers, other_path = bank(database_url, **config)
        apps.append(other)
        variants.append((name, (other_client, other_path, other_headers), nullcontext))
    best = {name: float("inf") for name, _, _ in variants}
    for _ in range(rounds):
        for name, target, context in variants:
            with context():
                best[name] = min(best[name], per_read_ms(*target, reads))
    for each in apps:
        shutdown(each)
    return list(best.items())


def hook_names(app) -> list[str]:
    hooks = [*app.before_request_funcs.get(None, ()), *app.after_request_funcs.get(None, ()),
             *app.teardown_appcontext_funcs]
    return [_name(hook) for hook in hooks]


def _name(hook) -> str:
    return getattr(hook, "func", hook).__qualname__.replace(".<locals>.", ".")


@contextmanager
def without_hook(app, name: str):
    """The app with one before/after-request or teardown hook taken out (for its cost)."""
    lists = [*app.before_request_funcs.values(), *app.after_request_funcs.values(),
             app.teardown_appcontext_funcs]
    for hooks in lists:
        for index, hook in enumerate(hooks):
            if _name(hook) == name:
                hooks.pop(index)
                try:
                    yield
                finally:
                    hooks.insert(index, hook)
                return
    raise KeyError(name)


def profile(database_url: str, reads: int) -> None:
    app, client, headers, path = bank(database_url)
    per_read_ms(client, path, headers, 200)  # warm caches
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
    parser.add_argument("--reads", type=int, default=500, help="reads a round")
    parser.add_argument("--rounds", type=int, default=9, help="rounds (interleaved)")
    parser.add_argument("--profile", type=int, default=0, help="cProfile this many reads")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, stderr_to_devnull():
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        for name, ms in breakdown(url, args.reads, args.rounds):
            print(f"{name:48s} {ms:6.3f} ms")
        if args.profile:
            profile(url, args.profile)


if __name__ == "__main__":
    main()
