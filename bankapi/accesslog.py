"""The JSON access log's handler: lines written in batches, not one write per request.

`banksim serve` logs one JSON line per request (web/metrics.py) to stderr. A plain
StreamHandler writes and flushes each line on its own: a system call per request, in the
middle of it, under the handler's lock. This handler queues the formatted lines and writes
them together, as soon as `max_lines` wait or `flush_s` after the first of them (a timer
thread), and at exit (logging's shutdown flushes every handler). A line therefore reaches
stderr at most `flush_s` late; a worker killed outright (SIGKILL) loses at most that much.
"""
import logging
import threading

FLUSH_S = 0.2
MAX_LINES = 256


class BatchedStreamHandler(logging.StreamHandler):
    def __init__(self, stream=None, flush_s: float = FLUSH_S, max_lines: int = MAX_LINES):
        super().__init__(stream)
        self.flush_s, self.max_lines = flush_s, max_lines
        self._lines: list[str] = []
        self._timer: threading.Timer | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        with self.lock:
            self._lines.append(line)
            if len(self._lines) >= self.max_lines:
                self._write()
            elif self._timer is None:
                self._timer = threading.Timer(self.flush_s, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        with self.lock:
            self._write()

    def _write(self) -> None:
        """Write what waits (the caller holds the lock)."""
        if self._timer is not None:
            if self._timer is not threading.current_thread():
                self._timer.cancel()
            self._timer = None
        if self._lines:
            lines, self._lines = self._lines, []
            try:
                self.stream.write("\n".join(lines) + "\n")
                self.stream.flush()
            except (OSError, ValueError):  # stderr closed or gone: nothing left to tell
                pass

    def close(self) -> None:
        self.flush()
        super().close()
