"""The processes a run starts, and stopping all of them whatever ends the run.

`banksim incident` starts `banksim seed`, `banksim serve` (a gunicorn master and its
workers) and Locust. Each runs in its own session, so a Ctrl-C in the terminal reaches
only banksim, and banksim decides the order things stop in; stopping one means its whole
process group (the bank's workers go with their master). `StopSignals` turns SIGINT,
SIGTERM and SIGHUP into `Interrupted`, so the `finally` blocks that stop the children
run whichever signal a user, a terminal or a CI timeout sends.
"""
import os
import signal
import subprocess
import time

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(BaseException):
    """A stop signal arrived; `signum` says which. A BaseException, like KeyboardInterrupt,
    so no `except Exception` on the way swallows it."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class StopSignals:
    """While active, the first SIGINT, SIGTERM or SIGHUP raises Interrupted in the main
    thread; later ones are ignored, so a second Ctrl-C cannot cut the clean-up short.

    `shield()` defers the signal instead (for the clean-up itself); `resume()` raises
    the deferred one, if any, and arms the handler again.
    """

    def __init__(self):
        self.received: int | None = None
        self.armed = True
        self._previous = {}

    def __enter__(self):
        self._previous = {sig: signal.signal(sig, self._handle) for sig in STOP_SIGNALS}
        return self

    def __exit__(self, *_exc):
        for sig, old in self._previous.items():
            signal.signal(sig, old)

    def _handle(self, signum, _frame):
        if self.received is None:
            self.received = signum
            if self.armed:
                raise Interrupted(signum)

    def shield(self) -> None:
        self.armed = False

    def resume(self) -> None:
        self.armed = True
        if self.received is not None:
            raise Interrupted(self.received)


class Children:
    """Every subprocess of a run, each the leader of its own process group, and the
    in-process servers (`on_stop`) stopped with them."""

    def __init__(self):
        self.processes: list[subprocess.Popen] = []
        self.stoppers: list = []

    def on_stop(self, stop) -> None:
        """Call `stop()` when everything is stopped (`stop_all()` without a selection)."""
        self.stoppers.append(stop)

    def start(self, command: list[str], **popen) -> subprocess.Popen:
        process = subprocess.Popen(command, start_new_session=True, **popen)
        self.processes.append(process)
        return process

    def stop_all(self, processes: list[subprocess.Popen] | None = None,
                 grace_s: float = 10) -> None:
        """SIGTERM every group at once, then SIGKILL what is left after `grace_s`."""
        targets = self.processes if processes is None else processes
        while processes is None and self.stoppers:
            self.stoppers.pop()()
        for process in targets:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for process in targets:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(process, signal.SIGKILL)  # stragglers of the group, if any
            process.wait()
            for pipe in (process.stdin, process.stdout, process.stderr):
                if pipe is not None:
                    pipe.close()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
