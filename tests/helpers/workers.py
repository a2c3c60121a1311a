"""Which gunicorn workers of a served bank answer: the kernel hands each new connection to
any worker, and a busy machine may give one worker many in a row, so a test asks until every
worker has answered (or a deadline passes) instead of a fixed number of times."""
import time

import requests


def worker_pids(url: str, workers: int, within_s: float = 30) -> set[int]:
    """The pids of `workers` distinct workers, each seen answering /health on a fresh
    connection; fails the test if fewer answered within `within_s`."""
    seen: set[int] = set()
    deadline = time.monotonic() + within_s
    while len(seen) < workers and time.monotonic() < deadline:
        seen.add(requests.get(f"{url}/health", headers={"Connection": "close"},
                              timeout=5).json()["worker"])
    assert len(seen) == workers, f"only workers {seen} answered in {within_s} s"
    return seen
