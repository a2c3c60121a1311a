"""SQLite writers wait their turn in a queue that wakes them, not in SQLite's busy handler.

On SQLite `db.write()` serialises writers with `BEGIN IMMEDIATE`. A writer that finds
the lock taken is left to SQLite's busy handler, which sleeps 1, 2, 5, 10, ... 100 ms
between tries: nobody is woken when the lock frees, so under load the lock sits idle
while a dozen threads sleep. Measured at 1,000 phones (benchmarks, R12), 61 of 96 sampled bank
threads were asleep in that `BEGIN IMMEDIATE`, the bank used about one of its two cores,
and every request queued behind them (p50 about 0.5 s).

`WriterQueue.turn()` puts writers in line before they begin: the threads of a process
on a lock, then one thread per process on an exclusive `flock` of a small lock file in
the temporary directory. The file is one of LOCK_SLOTS per user, chosen by a hash of the
database file's real path, so every process serving that file finds the same one and the
files stay few however many databases come and go (a test suite makes hundreds); two
databases that share a slot only take turns with each other's writers. The database
file itself is never opened: closing any descriptor of it would drop SQLite's own POSIX
locks. Both the lock and the flock wake the next writer the moment they are released.
By the time a writer sends `BEGIN IMMEDIATE` the lock is nearly always free; the busy
handler still guards the writers that do not queue (`banksim seed`) and a writer that
waited `TURN_TIMEOUT_S` for its process's lock. (Chaos writes to a file of its own: see
`chaos_engine` in bankapi/__init__.py.) The flock itself has no
timeout: the one thread of a process waiting on it waits until the holder's transaction
ends, or the holder's process dies (the kernel then lets go of its flock).
PostgreSQL needs none of this: its row locks wake their waiters.
"""
import fcntl
import hashlib
import os
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

TURN_TIMEOUT_S = 30.0  # as SQLite's busy timeout (engine.py): then go on without the queue
LOCK_SLOTS = 64  # lock files per user in the temporary directory, at most


class WriterQueue:
    """The line of writers to one SQLite database (see the module docstring)."""

    def __init__(self, database_file: Path | None):
        self.lock_file = _lock_file(database_file) if database_file is not None else None
        self._threads = threading.RLock()  # re-entrant: a write inside a write is one turn
        self._depth = threading.local()

    @contextmanager
    def turn(self):
        """Wait for this writer's turn, hold it for the block, hand it to the next."""
        if not self._threads.acquire(timeout=TURN_TIMEOUT_S):
            yield  # stuck in line: fall back on SQLite's own busy timeout
            return
        depth = getattr(self._depth, "value", 0)
        descriptor = self._lock_processes() if depth == 0 else None
        self._depth.value = depth + 1
        try:
            yield
        finally:
            self._depth.value = depth
            if descriptor is not None:
                os.close(descriptor)  # releases the flock
            self._threads.release()

    def _lock_processes(self) -> int | None:
        """An exclusive flock of the lock file (the GIL is released while waiting);
        None when there is no file to lock (in-memory database, no writable temp dir)."""
        if self.lock_file is None:
            return None
        try:
            descriptor = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            return None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        except BaseException:
            os.close(descriptor)
            raise
        return descriptor


def _lock_file(database_file: Path) -> Path:
    digest = hashlib.sha256(str(database_file.resolve()).encode()).digest()
    slot = int.from_bytes(digest[:4], "big") % LOCK_SLOTS
    return Path(tempfile.gettempdir()) / f"banksim-{os.getuid()}-writers-{slot:02d}.lock"
