"""Where slow faults (latency, timeout, db_latency, bandwidth) wait, and how many may at once.

A WSGI server has a fixed number of threads per process (banksim: 8 per gunicorn worker),
and a held request keeps one the whole time. A host that gives its exempt paths no threads
of their own (banksim's worker does: bankapi/worker.py) needs threads left over for them,
and every host needs the rest of its traffic to keep flowing while faults hold requests.

- At most `max_held` requests per process are held longer than `FREE_S` (a second) at
  once. A long slow fault beyond the cap does not wait: latency answers at once, timeout
  closes the connection at once (what its client would have seen, only sooner). So
  `threads - max_held` threads are never tied up for long, and the traffic the faults do
  not aim at keeps being served. A hold of at most `FREE_S` takes no slot: it delays a
  thread no longer than a second, and capping it would quietly soften a latency fault (a
  lognormal "slow backend" of a few hundred ms) exactly when traffic is highest. The
  faults one request asks for in a header wait in a row and share that second
  (`wait(..., needs_slot)`: the chain decides, header_faults.py).
- A fault that waits many times (bandwidth, between the chunks of a body) takes one slot
  for the whole `span` of its waits, so a dribbled body counts like one long hold.
- A hold is not one long sleep: it asks `still_applies()` before it starts and then
  sleeps on a condition until either the decider's rules are due for a re-read
  (`next_check_s()`) or someone calls `rules_moved()`. The decider calls that when a
  change is committed through this process (the disable's own thread: the hold ends at
  once) and when a reload finds a change made elsewhere. A re-check reads the database
  at most once per refresh period per process, however many requests are held, and the
  rules it judges by were read after the last due time: a hold in another process ends
  within the refresh period (0.25 s by default) plus the time to read the rules.
- `rules_moved` bumps a generation number under the condition, and a hold only sleeps
  when the generation it checked against is still current: a change that lands between
  the check and the sleep is never missed.
"""
import enum
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

FREE_S = 1.0  # holds this short need no slot


class Held(enum.Enum):
    """How a wait ended (`Holds.wait`)."""

    DONE = "done"  # the whole wait happened
    CUT = "cut"  # the fault stopped applying first
    REFUSED = "refused"  # no slot was free: nothing waited


class Holds:
    def __init__(self, max_held: int, next_check_s: Callable[[], float]):
        if max_held < 0:
            raise ValueError("max_held must be >= 0")
        self.max_held, self.next_check_s = max_held, next_check_s
        self._slots = threading.BoundedSemaphore(max_held) if max_held else None
        self._moved = threading.Condition()
        self._generation = 0
        self.held = 0  # requests held now (read by tests and for diagnosis)

    def rules_moved(self) -> None:
        """Wake every hold so it re-checks at once."""
        with self._moved:
            self._generation += 1
            self._moved.notify_all()

    def hold(self, seconds: float, still_applies: Callable[[], bool]) -> bool:
        """Wait up to `seconds`; True when the whole wait happened, False when no slot was
        free or the fault stopped applying first (the caller then ends the fault now)."""
        return self.wait(seconds, still_applies, seconds > FREE_S) is Held.DONE

    def wait(self, seconds: float, still_applies: Callable[[], bool],
             needs_slot: bool) -> Held:
        """`hold`, telling a refusal from a cut; `needs_slot` is the caller's call (one
        request's faults in a row share one second without a slot: header_faults.py)."""
        if seconds <= 0:
            return Held.DONE
        if not needs_slot:
            return Held.DONE if self._wait(seconds, still_applies) else Held.CUT
        if self._slots is None or not self._slots.acquire(blocking=False):
            return Held.REFUSED
        with self._moved:
            self.held += 1
        try:
            return Held.DONE if self._wait(seconds, still_applies) else Held.CUT
        finally:
            with self._moved:
                self.held -= 1
            self._slots.release()

    @contextmanager
    def span(self, seconds: float, still_applies: Callable[[], bool],
             needs_slot: bool | None = None) -> Iterator[Callable[[float], bool] | None]:
        """One slot for a fault that waits many times, `seconds` in all (a dribbled body):
        gives a `wait(seconds) -> bool` like `hold`'s, or None when no slot was free.
        `needs_slot`: as `wait`'s (None: when `seconds` is over FREE_S)."""
        def wait(part: float) -> bool:
            return self._wait(part, still_applies) if part > 0 else still_applies()
        if not (seconds > FREE_S if needs_slot is None else needs_slot):
            yield wait
            return
        if self._slots is None or not self._slots.acquire(blocking=False):
            yield None
            return
        with self._moved:
            self.held += 1
        try:
            yield wait
        finally:
            with self._moved:
                self.held -= 1
            self._slots.release()

    def _wait(self, seconds: float, still_applies: Callable[[], bool]) -> bool:
        deadline = time.monotonic() + seconds
        while True:
            generation = self._generation
            if not still_applies():
                return False
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            with self._moved:
                if self._generation == generation:
                    self._moved.wait(min(left, self.next_check_s()))
