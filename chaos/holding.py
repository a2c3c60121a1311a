"""Where slow faults (latency, timeout) spend their time, and how many may at once.

A WSGI server has a fixed number of threads per process (banksim: gunicorn gthread,
8 per worker), and a held request keeps one the whole time. Two promises depend on
threads being left over: /admin, /health and /metrics answer within a second however
many requests are held, and a disable cuts short the holds already in progress.

- At most `max_held` requests per process are held longer than `FREE_S` (a second) at
  once. A long slow fault beyond the cap does not wait: latency answers at once, timeout
  closes the connection at once (what its client would have seen, only sooner). So
  `threads - max_held` threads are never tied up for long, and exempt paths answer within
  about a second. A hold of at most `FREE_S` takes no slot: it delays a thread no longer
  than that promise allows, and capping it would quietly soften a latency fault (a
  lognormal "slow backend" of a few hundred ms) exactly when traffic is highest.
- A hold is not one long sleep: it waits on a condition that the rule engine notifies
  whenever it loads new rules, and at least every `check_s` asks `still_applies()`
  (the engine's cached rules, which read the database at most once per refresh period
  per process, however many requests are held). When the rule was disabled, deleted or
  the kill switch thrown, the hold ends early.
"""
import threading
import time
from collections.abc import Callable

FREE_S = 1.0  # holds this short need no slot


class Holds:
    def __init__(self, max_held: int, check_s: float):
        if max_held < 0:
            raise ValueError("max_held must be >= 0")
        self.max_held, self.check_s = max_held, check_s
        self._slots = threading.BoundedSemaphore(max_held) if max_held else None
        self._moved = threading.Condition()
        self.held = 0  # requests held now (read by tests and for diagnosis)

    def rules_moved(self) -> None:
        """Wake every hold so it re-checks at once (the engine calls this on a reload)."""
        with self._moved:
            self._moved.notify_all()

    def hold(self, seconds: float, still_applies: Callable[[], bool]) -> bool:
        """Wait up to `seconds`; True when the whole wait happened, False when no slot was
        free or the fault stopped applying first (the caller then ends the fault now)."""
        if seconds <= 0:
            return True
        if seconds <= FREE_S:
            return self._wait(seconds, still_applies)
        if self._slots is None or not self._slots.acquire(blocking=False):
            return False
        with self._moved:
            self.held += 1
        try:
            return self._wait(seconds, still_applies)
        finally:
            with self._moved:
                self.held -= 1
            self._slots.release()

    def _wait(self, seconds: float, still_applies: Callable[[], bool]) -> bool:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            with self._moved:
                self._moved.wait(min(left, self.check_s))
            if not still_applies():
                return False
        return True
