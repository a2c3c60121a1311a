"""The bandwidth fault's schedule, in-process: when each chunk may go, what a stopped rule
or a missing slot does to the rest, and where the 60 s cap cuts a body."""
import random
from contextlib import contextmanager

import pytest

from chaos.faults import build_fault
from chaos.faults.base import Exchange


class Clockwork:
    """An exchange whose waits are recorded instead of slept; `stop_after` waits, the rule
    stops applying (the kill switch); `slot=False`: no slot was free."""

    def __init__(self, stop_after: int | None = None, slot: bool = True):
        self.waits, self.spans, self.stop_after, self.slot = [], [], stop_after, slot
        self.exchange = Exchange({}, None, None, "rule_1", "req_1", random.Random(1),
                                 span=self.span)

    @contextmanager
    def span(self, seconds):
        self.spans.append(seconds)
        yield self.wait if self.slot else None

    def wait(self, seconds) -> bool:
        self.waits.append(seconds)
        return self.stop_after is None or len(self.waits) <= self.stop_after


def dribble(rate: int, body: bytes, clock: Clockwork) -> list[bytes]:
    return list(build_fault({"type": "bandwidth", "bytes_per_s": rate}).dribble(
        clock.exchange, body))


def test_the_headers_go_first_then_each_chunk_after_the_rate_allows_it():
    clock = Clockwork()
    chunks = dribble(1000, b"x" * 4000, clock)
    assert chunks[0] == b"" and [len(c) for c in chunks[1:] if c] == [1460, 1460, 1080]
    assert clock.spans == [4.0]
    # Each wait ends when the bytes sent by then are due: 1.46 s, 2.92 s and 4 s from the
    # start (no time passes here, so each wait is the whole time from the start).
    assert [round(w, 2) for w in clock.waits] == [1.46, 2.92, 4.0]


def test_a_rule_that_stops_applying_sends_the_rest_of_the_body_at_once():
    clock = Clockwork(stop_after=1)
    chunks = dribble(1000, b"x" * 4000, clock)
    assert [len(c) for c in chunks] == [0, 1460, 2540]


def test_without_a_slot_the_body_goes_whole():
    assert dribble(1000, b"x" * 4000, Clockwork(slot=False)) == [b"", b"x" * 4000]


def test_a_body_too_long_for_60_s_gets_what_fits_then_the_connection_closes():
    clock = Clockwork()
    sent = []
    with pytest.raises(BrokenPipeError):
        for chunk in build_fault({"type": "bandwidth", "bytes_per_s": 10}).dribble(
                clock.exchange, b"x" * 1000):
            sent.append(chunk)
    assert sum(map(len, sent)) == 600 and clock.spans == [60.0]


def test_cut_sends_exactly_its_bytes_then_hangs_up():
    fault = build_fault({"type": "cut", "after_bytes": 5})
    exchange = Clockwork().exchange
    sent = []
    with pytest.raises(BrokenPipeError):
        for chunk in fault.cut(exchange, b"0123456789"):
            sent.append(chunk)
    assert sent == [b"01234"]
