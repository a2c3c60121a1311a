"""The JSON access log: one line per request on stderr, written in batches off the
request's path.

`banksim serve` turns it on (BANKSIM_ACCESS_LOG, default 1; web/metrics.py adds the
lines). A request only appends its fields to a queue: no lock, no log record, no JSON.
A writer thread of the process turns what waits into JSON lines and writes them in one
go every `flush_s`, and `close()` (at exit, and when the app shuts down) writes the rest.
A line therefore reaches stderr at most `flush_s` late; a worker killed outright
(SIGKILL) loses at most that much.

The lines used to go through `logging`: a LogRecord, the handler's lock and a JSON
encoding on every request, which under eight busy threads a worker cost about 0.04 of R1
(benchmarks/README.md).
"""
import atexit
import json
import sys
import threading
from collections import deque
from typing import TextIO

FLUSH_S = 0.2


class AccessLog:
    """`add(fields)` per request; the fields come out as a JSON line on `stream`."""

    def __init__(self, stream: TextIO | None = None, flush_s: float = FLUSH_S):
        self._stream = stream  # None: sys.stderr as it is when the lines are written
        self.flush_s = flush_s
        self._waiting: deque[dict] = deque()  # appends need no lock
        self._writing = threading.Lock()  # one writer at a time: the thread or close()
        self._closed = threading.Event()
        self._writer: threading.Thread | None = None

    def add(self, fields: dict) -> None:
        """Queue one request's line (the writer thread starts with the first)."""
        self._waiting.append(fields)
        if self._writer is None:
            self._start_writer()

    def flush(self) -> None:
        """Write every line that waits, in the order they came."""
        with self._writing:
            lines = []
            while self._waiting:  # popleft until empty: requests may append meanwhile
                lines.append(json.dumps(self._waiting.popleft()))
            if not lines:
                return
            stream = self._stream or sys.stderr
            try:
                stream.write("\n".join(lines) + "\n")
                stream.flush()
            except (OSError, ValueError):  # stderr closed or gone: nothing left to tell
                pass

    def close(self) -> None:
        """Stop the writer thread and write what is left."""
        self._closed.set()
        self.flush()

    def _start_writer(self) -> None:
        with self._writing:
            if self._writer is not None or self._closed.is_set():
                return
            self._writer = threading.Thread(target=self._write_every_interval, daemon=True,
                                            name="banksim-access-log")
            self._writer.start()
            atexit.register(self.close)

    def _write_every_interval(self) -> None:
        while not self._closed.wait(self.flush_s):
            self.flush()
