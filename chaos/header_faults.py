"""Faults a caller asks for: the `X-Banksim-Fault` header, read into faults or why it is ignored.

    X-Banksim-Fault: latency=800ms
    X-Banksim-Fault: latency=2s; bandwidth=2048

Each item is `TYPE` or `TYPE=VALUE`, separated by `;`. VALUE is the type's one setting
(`SETTING` below): a number with an optional unit (ms or s for times, Bps or kBps for
rates) that comes to a whole number of the setting's unit (`1.5s` is 1500 ms, `0.5ms` is
not a value), or a word (malformed's mode). The whole item is read without regard to
case (`LATENCY=800MS` is `latency=800ms`), as HTTP treats header names. A value of any
length that is a number is judged by the setting's limits (`invalid_value`), never
`malformed`. The fault is then built through the same
registry and settings schema as a rule's (`build_fault`), so the header gets no more
than a rule could: latency up to 60 s, an error status from the error fault's list. A
type whose file is not installed is simply unknown.

Whether a request may use the header at all (the setting, the allow-list, the kill
switch) is the decider's decision; this module only reads the header. Everything
it refuses comes back as a `reason`, one of REASONS, which the decider counts in
`chaos_header_faults_ignored_total`: clients choose the header, so the label is bounded.
"""
import re
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from .faults import FAULTS, Exchange, Fault, FaultSettingsError, build_fault
from .holding import FREE_S, Held, Holds

HEADER = "X-Banksim-Fault"
ENVIRON_KEY = "HTTP_X_BANKSIM_FAULT"
RULE_ID = "header"  # what events, metrics and X-Chaos-Rule name a caller-chosen fault by
MAX_LENGTH = 200
MAX_FAULTS = 4
MAX_HOLD_S = 60.0  # what one request's faults may wait in all: one latency fault's cap
# fault type -> the one setting its header value gives (None: the type takes no value)
SETTING = {"latency": "ms", "error": "status", "reset": None, "timeout": "hang_ms",
           "malformed": "mode", "bandwidth": "bytes_per_s", "cut": "after_bytes"}
# setting -> unit -> factor to the setting's own unit ("" is the bare number)
UNITS = {"ms": {"": 1, "ms": 1, "s": 1000}, "hang_ms": {"": 1, "ms": 1, "s": 1000},
         "bytes_per_s": {"": 1, "bps": 1, "kbps": 1000}}
REASONS = ("off", "not_allowed", "exempt_path", "malformed", "not_ascii", "too_long",
           "too_many", "unknown_fault", "invalid_value", "conflict")
# Faults that reshape the answer's body as it goes out: one per header. Two would each
# need the other's bytes as they are sent (a cut inside a dribble closes the connection
# before the dribble sends what the cut let through), so a header asking for both is
# ignored rather than half done.
BODY_FAULTS = frozenset({"bandwidth", "cut"})
BODY_WAITS = frozenset({"bandwidth"})  # act (and are recorded) when their dribble gets a slot
_ITEM = re.compile(r"^([a-z_]{1,20})(?:=([a-z0-9.]*))?$")  # (lower-cased; MAX_LENGTH bounds)
_NUMBER = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([a-z]*)$")


@dataclass(frozen=True)
class Asked:
    """What a header asked for: the faults in order, or why it is ignored."""

    faults: tuple[tuple[str, Fault], ...] = ()  # (type, fault)
    reason: str | None = None


@dataclass(frozen=True)
class CallerFaults:
    """The caller-chosen fault setting: on or off, and whose requests may use it (the
    decider checks a request against it)."""

    on: bool = False
    devices: frozenset = frozenset()
    users: frozenset = frozenset()

    @classmethod
    def from_settings(cls, settings: dict | None) -> "CallerFaults":
        if not settings:
            return cls()
        allow = settings.get("allow") or {}
        return cls(bool(settings.get("header_faults")), frozenset(allow.get("devices", ())),
                   frozenset(allow.get("users", ())))


OFF = CallerFaults()


@lru_cache(maxsize=256)
def parse(value: str) -> Asked:
    """The faults `value` asks for (cached: clients repeat the same few headers)."""
    if len(value) > MAX_LENGTH:
        return Asked(reason="too_long")
    if not value.isascii() or not value.isprintable():
        return Asked(reason="not_ascii")
    items = [item.strip() for item in value.split(";") if item.strip()]
    if not items:
        return Asked(reason="malformed")
    if len(items) > MAX_FAULTS:
        return Asked(reason="too_many")
    faults = []
    for item in items:
        found = _ITEM.match(item.replace(" ", "").lower())
        if found is None:
            return Asked(reason="malformed")
        kind, text = found.groups()
        if kind not in SETTING or kind not in FAULTS or any(kind == k for k, _ in faults):
            return Asked(reason="unknown_fault")
        try:
            faults.append((kind, build_fault(_settings(kind, text))))
        except (FaultSettingsError, ValueError):
            return Asked(reason="invalid_value")
    if sum(kind in BODY_FAULTS for kind, _ in faults) > 1:
        return Asked(reason="conflict")
    return Asked(tuple(faults))


def _settings(kind: str, text: str | None) -> dict:
    """The fault object a rule would carry for `kind=text` (ValueError: not a value)."""
    setting = SETTING[kind]
    if setting is None or not text:
        if setting is not None or text is not None:
            raise ValueError("this fault takes a value" if text is None else "no value")
        return {"type": kind}
    number = _NUMBER.match(text)
    if number is None:
        return {"type": kind, setting: text}  # a word: the fault's schema judges it
    factor = UNITS.get(setting, {"": 1}).get(number.group(2))
    if factor is None:
        raise ValueError(f"unit {number.group(2)!r}")
    amount = Fraction(number.group(1)) * factor  # exact: 1.0000001s is not a whole ms
    if amount.denominator != 1:
        raise ValueError("not a whole number")
    return {"type": kind, setting: int(amount)}


class ChainedFaults(Fault):
    """The faults a header asked for, in order: each one's `forward()` hands the request to
    the next (latency then error: a late error). A fault that answers itself (error, reset,
    malformed, timeout) ends the chain there, and the items after it never happen.

    Waiting: the items share one budget, MAX_HOLD_S, as a single latency fault has (four
    slow items never hold a thread four times as long), and one second without a slot
    (holding.FREE_S) between them: once their waits pass it, a wait needs a slot, so two
    one-second items do not slip past the cap.

    Recording: `record(type)` is called for each item as it acts, and only then: an item
    after the one that answered is never recorded, nor a wait the cap refused (latency
    then answers at once, as if not asked), nor a bandwidth item whose dribble found no
    slot (its body goes at once). When no item acted, the app's answer goes out unmarked
    (no X-Chaos-Rule); an answer a bandwidth item will dribble is marked, as its headers
    go out before the dribble seeks its slot.

    The kill switch: when a hold is cut short because the header no longer applies (the
    kill switch, the setting, the allow-list), the items after it never happen: the
    request goes straight on to the app.

    `holds` and `still_applies` are the decider's (its slots, and whether the request may
    still use the header: kill switch, setting, allow-list); without them (unit tests)
    the exchange's own waits."""

    type = RULE_ID
    Settings = None

    def __init__(self, faults: tuple[tuple[str, Fault], ...],
                 record: Callable[[str], None] | None = None, holds: Holds | None = None,
                 still_applies: Callable[[], bool] | None = None):
        self.faults, self.record = faults, record
        self.holds, self.still_applies = holds, still_applies

    def inject(self, exchange: Exchange):
        return _Run(self, exchange).enter(exchange, self.faults)


class _Run:
    """One request's pass through a chain: the waiting it has left and what acted."""

    def __init__(self, chain: ChainedFaults, exchange: Exchange):
        self.left, self.spent, self.acted = MAX_HOLD_S, 0.0, False
        self.stopped = False  # a hold was cut because the header stopped applying
        self.shapes = any(kind in BODY_WAITS for kind, _ in chain.faults)
        self.record = chain.record or (lambda _kind: None)
        holds, applies = chain.holds, chain.still_applies
        if holds is None:  # no decider (unit tests): the exchange's own waits
            self.hold = lambda seconds: Held.DONE if exchange.hold(seconds) else Held.CUT
            self.span = lambda seconds: exchange.span(seconds)
        else:  # a wait needs a slot once the chain's waits pass FREE_S together
            self.hold = lambda seconds: holds.wait(seconds, applies,
                                                   self.spent + seconds > FREE_S)
            self.span = lambda seconds: holds.span(seconds, applies,
                                                   self.spent + seconds > FREE_S)

    def enter(self, exchange: Exchange, items: tuple[tuple[str, Fault], ...]):
        (kind, fault), *rest = items
        link = _Link(exchange, kind, tuple(rest), self)
        try:
            result = fault.inject(link)
        except BaseException:
            if not link.forwarded:  # it hung up or reset the connection itself
                link.acted()
            raise
        if not link.refused and kind not in BODY_WAITS:
            link.acted()
        return result


class _Link:
    """The exchange as one fault in a chain sees it: the same, but `forward()` goes
    through the faults after it before it reaches the app, and `hold()` draws on the
    chain's budget (a hold cut by it counts as cut short: the fault ends now)."""

    def __init__(self, exchange: Exchange, kind: str, rest: tuple, run: _Run):
        self._exchange, self._kind, self._rest, self._run = exchange, kind, rest, run
        self.recorded = self.refused = self.forwarded = False

    def __getattr__(self, name):
        return getattr(self._exchange, name)

    def acted(self) -> None:
        if not self.recorded:
            self.recorded = self._run.acted = True
            self._run.record(self._kind)

    @property
    def wait_budget_s(self) -> float:
        """What this item may still wait: the chain's budget, less what earlier items took."""
        return max(self._run.left, 0.0)

    def hold(self, seconds: float) -> bool:
        allowed = max(min(seconds, self._run.left), 0.0)
        held = self._run.hold(allowed)
        if held is Held.REFUSED:
            self.refused = True
            return False
        self._run.left -= allowed
        self._run.spent += allowed
        self.acted()
        if held is Held.CUT:
            self._run.stopped = True
        return held is Held.DONE and allowed >= seconds

    @contextmanager
    def span(self, seconds: float):
        """A fault's many waits (bandwidth), on the chain's budget and shared second: past
        what the budget leaves, a wait is cut (the fault ends now)."""
        allowed = max(min(seconds, self._run.left), 0.0)
        with self._run.span(allowed) as wait:
            if wait is not None:
                self._run.left -= allowed
                self._run.spent += allowed
                self.acted()
            if wait is None or allowed >= seconds:
                yield wait
                return
            left = [allowed]

            def budgeted(part: float) -> bool:
                part = max(part, 0.0)
                if part > left[0]:
                    wait(left[0])
                    left[0] = 0.0
                    return False
                left[0] -= part
                return wait(part)
            yield budgeted

    def reply(self, *args, **kwargs):
        self.acted()
        return self._exchange.reply(*args, **kwargs)

    def forward(self):
        if not self.refused and self._kind not in BODY_WAITS:
            self.acted()
        self.forwarded = True
        if self._rest and not self._run.stopped:
            return self._run.enter(self._exchange, self._rest)
        if self._run.acted or self._run.shapes or self._exchange.response is not None:
            return self._exchange.forward()
        return self._exchange.app(self._exchange.environ, self._exchange.start_response)
