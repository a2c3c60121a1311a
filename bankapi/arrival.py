"""When the request a thread is serving arrived whole at its worker: the bank's own clock for
how long a request waited for a thread before the app began it.

The worker (`worker.py`) reads a request in its event loop and queues it for a thread; the
thread that takes it marks the arrival here (a thread-local), and the access log reports
`queued_ms`, so a run can tell, from the bank's own timings, which answers came after the
client's timeout had expired (work nobody waited for). Outside gunicorn (tests, `--dev`)
no arrival is marked and `queued_s()` is None.
"""
import threading
import time

_current = threading.local()


def mark(arrived_at: float | None) -> None:
    """The monotonic time the thread's next request arrived whole (None: unknown)."""
    _current.arrived_at = arrived_at


def queued_s(now: float | None = None) -> float | None:
    """Seconds between the request's arrival and `now` (default: this moment)."""
    arrived = getattr(_current, "arrived_at", None)
    if arrived is None:
        return None
    return max(0.0, (time.monotonic() if now is None else now) - arrived)
