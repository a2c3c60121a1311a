"""The bandwidth fault's schedule, in-process: when each chunk may go, what a stopped rule
or a missing slot does to the rest, and where the 60 s cap cuts a body."""
import random
from contextlib import contextmanager

import pytest

from chaos.faults import bandwidth, build_fault
from chaos.faults.base import Exchange


class Clockwork:
    """An exchange whose waits are recorded instead of slept, on a clock of its own that
    each wait moves on (the fault reads it as its `time.monotonic`); `stop_after` waits,
    the rule stops applying (the kill switch); `slot=False`: no slot was free."""

    def __init__(self, stop_after: int | None = None, slot: bool = True):
        self.waits, self.spans, self.stop_after, self.slot = [], [], stop_after, slot
        self.now = 1000.0
        self.exchange = Exchange({}, None, None, "rule_1", "req_1", random.Random(1),
                                 span=self.span)

    def monotonic(self) -> float:
        return self.now

    @contextmanager
    def span(self, seconds):
        self.spans.append(seconds)
        yield self.wait if self.slot else None

    def wait(self, seconds) -> bool:
        self.waits.append(seconds)
        self.now += max(seconds, 0.0)
        return self.stop_after is None or len(self.waits) <= self.stop_after


@pytest.fixture(autouse=True)
def fake_clock(monkeypatch):
    """The bandwidth fault's clock is the Clockwork's while a test runs it (set per test)."""
    holder = {}
    monkeypatch.setattr(bandwidth, "time", type("Time", (), {
        "monotonic": staticmethod(lambda: holder["clock"].monotonic())}))
    return holder


def dribble(rate: int, body: bytes, clock: Clockwork, holder: dict) -> list[bytes]:
    holder["clock"] = clock
    chunks = []
    for chunk in build_fault({"type": "bandwidth", "bytes_per_s": rate}).dribble(
            clock.exchange, body):
        chunks.append((round(clock.now - 1000.0, 3), chunk))
    return chunks


def test_the_headers_go_first_then_each_chunk_after_the_rate_allows_it(fake_clock):
    clock = Clockwork()
    sent = dribble(1000, b"x" * 4000, clock, fake_clock)
    assert sent[0] == (0.0, b"")
    # each chunk goes when the bytes sent by then are due: at 1.46 s, 2.92 s and 4 s
    assert [(at, len(c)) for at, c in sent[1:] if c] == [(1.46, 1460), (2.92, 1460),
                                                         (4.0, 1080)]
    assert clock.spans == [4.0]
    # in waits of a second at most, so that a client that hung up is noticed
    assert max(clock.waits) <= bandwidth.CHECK_S and len(clock.waits) == 6


def test_a_rule_that_stops_applying_sends_the_rest_of_the_body_at_once(fake_clock):
    clock = Clockwork(stop_after=2)  # the first chunk's two waits (1 s, 0.46 s), then no
    chunks = dribble(1000, b"x" * 4000, clock, fake_clock)
    assert [len(c) for _, c in chunks] == [0, 1460, 2540]


def test_without_a_slot_the_body_goes_whole(fake_clock):
    chunks = dribble(1000, b"x" * 4000, Clockwork(slot=False), fake_clock)
    assert [c for _, c in chunks] == [b"", b"x" * 4000]


def test_a_body_too_long_for_60_s_gets_what_fits_then_the_connection_closes(fake_clock):
    clock = Clockwork()
    fake_clock["clock"] = clock
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
