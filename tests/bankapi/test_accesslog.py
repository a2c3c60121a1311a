"""The access log's batched handler: every line arrives, in order, a batch at a time."""
import io
import logging
import time

from bankapi.accesslog import BatchedStreamHandler


def _logger(handler) -> logging.Logger:
    log = logging.getLogger(f"test.accesslog.{id(handler)}")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    return log


def test_lines_wait_for_a_full_batch_or_a_flush():
    out = io.StringIO()
    handler = BatchedStreamHandler(out, flush_s=60, max_lines=3)
    log = _logger(handler)
    log.info("one")
    log.info("two")
    assert out.getvalue() == ""  # nothing written per line
    log.info("three")
    assert out.getvalue() == "one\ntwo\nthree\n"
    log.info("four")
    handler.close()  # logging's shutdown closes every handler at exit
    assert out.getvalue() == "one\ntwo\nthree\nfour\n"


def test_a_lone_line_is_written_by_the_timer():
    out = io.StringIO()
    handler = BatchedStreamHandler(out, flush_s=0.05, max_lines=100)
    _logger(handler).info("alone")
    for _ in range(200):  # polls; asserts no duration
        if out.getvalue():
            break
        time.sleep(0.05)
    assert out.getvalue() == "alone\n"
    handler.close()
