"""A call in a thread of its own, and waiting for a condition: how a test holds a request
open (a held fault) while it changes something beside it."""
import threading
import time


def in_thread(call):
    """Run `call` in a daemon thread; (thread, box): box["value"] is its result, or
    box["error"] what it raised (a hang-up surfaces as an error in the test client)."""
    box = {}

    def run():
        try:
            box["value"] = call()
        except Exception as exc:  # noqa: BLE001 - the test reads it
            box["error"] = exc
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def wait_until(check, within_s=5.0):
    """Poll `check` until it is true or `within_s` passed; its last answer."""
    deadline = time.monotonic() + within_s
    while not check() and time.monotonic() < deadline:
        time.sleep(0.01)
    return check()
