"""The JSON access log: a line per request, in order, written in batches by a thread of
its own (nothing written on the request's path), and nothing lost at close."""
import io
import json
import time

from bankapi.accesslog import AccessLog


def test_lines_wait_for_the_writer_and_come_out_in_order():
    out = io.StringIO()
    log = AccessLog(out, flush_s=60)
    for n in range(3):
        log.add({"n": n, "route": "/me"})
    assert out.getvalue() == ""  # nothing written on the request's path
    log.close()  # at exit, and when the app shuts down
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [
        {"n": 0, "route": "/me"}, {"n": 1, "route": "/me"}, {"n": 2, "route": "/me"}]


def test_the_writer_thread_writes_a_lone_line_within_its_interval():
    out = io.StringIO()
    log = AccessLog(out, flush_s=0.05)
    log.add({"alone": True})
    for _ in range(200):  # polls; asserts no duration
        if out.getvalue():
            break
        time.sleep(0.05)
    assert out.getvalue() == '{"alone": true}\n'
    log.close()
