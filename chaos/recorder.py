"""Per-process buffer for rule counters and fault events, written to the database in batches.

Writing a row for every request would put a database write (and, on SQLite, the
one write lock) on the hot path of every request a rule touches. Instead the
counts and events collect here and a daemon thread flushes them every
`interval_s`; admin reads flush first, so a process always sees its own counts.
Other processes' counts arrive within one interval.

What can go wrong: a process that dies loses at most one interval of counts;
if the database refuses a flush the counts are kept for the next one and the
events (bounded) are dropped, and a warning is logged.
"""
import logging
import os
import threading
from collections import deque
from collections.abc import Callable

log = logging.getLogger("chaos")

Flush = Callable[[dict[str, tuple[int, int]], list[dict], bool], None]


class Recorder:
    def __init__(self, write: Flush, interval_s: float = 0.5, max_events: int = 1000):
        self._write, self.interval_s, self.max_events = write, interval_s, max_events
        self._pid = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._reset_buffers()

    def _reset_buffers(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, list[int]] = {}
        self._events: deque[dict] = deque(maxlen=self.max_events)
        self._expired_seen = False

    def matched(self, rule_id: str) -> None:
        self._ensure_thread()
        with self._lock:
            self._counts.setdefault(rule_id, [0, 0])[0] += 1

    def injected(self, rule_id: str, event: dict) -> None:
        self._ensure_thread()  # a caller-chosen fault is injected without a match first
        with self._lock:
            self._counts.setdefault(rule_id, [0, 0])[1] += 1
            self._events.append(event)

    def expired_seen(self) -> None:
        """A rule's ttl ran out: the next flush deletes expired rules."""
        self._ensure_thread()
        self._expired_seen = True

    def flush(self) -> None:
        with self._lock:
            counts = {k: (m, i) for k, (m, i) in self._counts.items()}
            events, purge = list(self._events), self._expired_seen
            self._counts, self._events = {}, deque(maxlen=self.max_events)
            self._expired_seen = False
        if not (counts or events or purge):
            return
        try:
            self._write(counts, events, purge)
        except Exception:  # noqa: BLE001 - a failed flush must never kill the flusher
            log.warning("chaos: could not record counters and events", exc_info=True)
            with self._lock:
                for rule_id, (m, i) in counts.items():
                    kept = self._counts.setdefault(rule_id, [0, 0])
                    kept[0], kept[1] = kept[0] + m, kept[1] + i
                self._expired_seen = self._expired_seen or purge

    def stop(self) -> None:
        """Stop the flusher and wait for a flush in progress to finish."""
        self._stopping.set()
        if self._thread is not None and self._pid == os.getpid():
            self._thread.join(timeout=10)

    def _ensure_thread(self) -> None:
        # A forked worker inherits neither the thread nor a usable lock: start afresh.
        if self._pid == os.getpid() or self._stopping.is_set():
            return
        with _start_lock:
            if self._pid == os.getpid():
                return
            if self._pid is not None:
                self._reset_buffers()
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="chaos-recorder", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stopping.wait(self.interval_s):
            self.flush()


_start_lock = threading.Lock()
