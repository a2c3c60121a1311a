"""Does the bank's Python heap grow under the soak's load? tracemalloc after a warm-up.

    python -m benchmarks.heap [--warmup-s 60] [--measure-s 120] [--top 8]

Serves the bank in this process (werkzeug, threaded, on 127.0.0.1) on a freshly seeded
SQLite database, runs the soak's clients (benchmarks/soak.py) against it, snapshots the
traced Python allocations after the warm-up and again at the end, and prints the
allocation sites that grew most. RSS growth that does not show here is native memory:
SQLite's page caches, glibc's per-thread arenas, mmap'd metric files. Tracing is slow
(expect a few requests per second), and nothing here runs in the test suite.
"""
import argparse
import gc
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
from pathlib import Path

from benchmarks import soak
from werkzeug.serving import make_server

from bankapi import create_app

ROOT = Path(__file__).resolve().parent


USERS = 50
NOT_THE_BANK = [tracemalloc.Filter(False, pattern) for pattern in (
    tracemalloc.__file__, "*/requests/*", "*/urllib3/*", "*/http/client.py", "*/soak.py")]


def serve(database_url: str) -> str:
    app = create_app({"DATABASE_URL": database_url, "ADMIN_TOKEN": uuid.uuid4().hex})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warmup-s", type=float, default=60)
    parser.add_argument("--measure-s", type=float, default=120)
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="banksim-heap-"))
    database_url = f"sqlite:///{workdir / 'heap.db'}"
    env = {**os.environ, "BANKSIM_DATABASE_URL": database_url,
           "BANKSIM_PASSWORD_HASH": "pbkdf2:sha256:1000"}
    subprocess.run([sys.executable, "-m", "banksim", "seed", "--users", str(USERS),
                    "--months", "1", "--reset"], env=env, check=True, capture_output=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(workdir)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    url = serve(database_url)

    tracemalloc.start(12)
    deadline = time.monotonic() + args.warmup_s + args.measure_s
    clients = [soak.Client(url, n, USERS, deadline, 42) for n in range(8)]
    for client in clients:
        client.start()

    def snapshot():
        gc.collect()
        done = sum(sum(c.outcomes.values()) for c in clients)
        return tracemalloc.take_snapshot().filter_traces(NOT_THE_BANK), done

    time.sleep(args.warmup_s)
    before, done_before = snapshot()
    time.sleep(args.measure_s)
    after, done_after = snapshot()
    errors = sum(c.outcomes["error"] for c in clients)
    growth = after.compare_to(before, "traceback")
    total = sum(stat.size_diff for stat in growth)
    print(f"{done_after - done_before} requests after the warm-up ({errors} errors); "
          f"traced Python memory changed by {total / 1024:+.1f} KiB")
    for error in [e for c in clients for e in c.errors][:5]:
        print("  error:", error)
    for stat in sorted(growth, key=lambda s: s.size_diff, reverse=True)[:args.top]:
        print(f"\n{stat.size_diff / 1024:+.1f} KiB in {stat.count_diff:+d} blocks at")
        for line in stat.traceback.format(limit=6):
            print("   ", line)


if __name__ == "__main__":
    main()
