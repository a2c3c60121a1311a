"""The decider: the one place that decides whether a request gets a fault.

For each request, the enabled rules are tried in creation order and the first
rule that matches *and fires* wins:

0. a caller-chosen fault (`X-Banksim-Fault`, see header_faults.py), when the setting is
   on and the request's device or user is allow-listed: it wins over every rule, is
   recorded as rule `header`, and a header that does not qualify is counted and ignored
   (the rules below then decide as if it were absent);
1. match block (methods, platform, path, users, devices, headers, app version) - `Matcher`;
2. cohort: a sticky share of users, `bucket(seed, cohort, user else device) <
   cohort_percent`, where cohort is the rule's `match.cohort` name (rules that
   share a name share their users) or else the rule id; a request with neither user
   nor device is only in a rule's cohort when cohort_percent is 100. Passing 1 and 2
   counts `matched`;
3. pattern: a burst rule is active only in its "on" windows, counted from the
   rule's creation time so every process agrees on the windows;
   A rule whose fault is sticky (offline) asks first whether the device is in a window
   it opened (chaos/windows.py): inside it, the rule fires and 3 and 4 are skipped;
   past it, the rule passes for this cycle;
4. probability: with an X-Request-Id the draw is a hash of (seed, rule, user
   else device, request id), so the same requests fail in every run with the
   same seed; without one it comes from a generator seeded with (seed, rule).
   A sticky rule that fires opens the device's window.

Hashes are BLAKE2b, never Python's `hash()` (randomised per process).

Rules are cached per process, and how fresh they are is one promise, kept in
`current()`: a request sees every change committed through this process's store
before it started, and every change committed anywhere `max_stale_s` (twice
`refresh_s`: 0.5 s by default) before it started. Rules confirmed less than
`refresh_s` ago are used as they are; between `refresh_s` and `max_stale_s` one
thread re-reads the revision while the others go on with them (so a steady stream
of requests never waits for the database); older than that, or after a change made
here, a request waits for a read that started late enough (up to `WAIT_S`, then it
goes on with the last rules and a warning: a database that cannot be read cannot
say what the kill switch is). "Confirmed at" is when the read *started*, so a
reload in progress never counts as fresher than it is. A reload recompiles only
the rules whose stored definition changed.
"""
import json
import logging
import math
import random
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError

from . import deliveries, header_faults
from .faults import DeliveryPlan, Fault, build_fault
from .holding import Holds
from .matching import Matcher
from .metrics import (GenericVersionLabel, VersionLabel, count_header_ignored, count_injection,
                      record_rules)
from .draws import clip as _clip, hash64, in_cohort
from .windows import DeviceWindows

log = logging.getLogger("chaos")
WARN_EVERY_S = 30.0
MAX_CACHED_VERSIONS = 256
MAX_CACHED_ROUTES, MAX_CACHED_PATH = 4096, 200
WAIT_S = 1.0  # longest a request waits for a reload before going on with the last rules
MAX_HELD = 4  # requests per process a slow fault may hold at once (see holding.py)


@dataclass(frozen=True, slots=True)
class RequestInfo:
    method: str
    path: str
    app_version: str | None
    platform: str | None
    user_id: str | None
    device_id: str | None
    request_id: str | None  # as the client sent it; None when it sent none
    now: float  # epoch seconds
    headers: dict = field(default_factory=dict)  # the host's allow-listed headers, lower-cased
    asked: str | None = None  # X-Banksim-Fault as sent

    @property
    def key(self) -> str | None:
        return self.user_id or self.device_id


@dataclass(frozen=True, slots=True)
class Decision:
    rule_id: str
    fault: Fault
    phase: str
    rng: random.Random  # for faults that draw (latency, garbage); seeded like the decision


class CompiledRule:
    def __init__(self, rule, generator: random.Random):
        """`rule` is a queries.RuleDefinition (its JSON fields are text)."""
        self.id, self.phase, self.probability = rule.id, rule.phase, rule.probability
        fault = json.loads(rule.fault)
        self.fault_type = fault["type"]
        self.fault = build_fault(fault)
        self.for_delivery = getattr(self.fault, "for_delivery", False)
        self.matcher = Matcher(json.loads(rule.match or "{}"))
        pattern = json.loads(rule.pattern or "{}")
        self.on_s = pattern.get("on_s") if pattern.get("type") == "burst" else None
        self.off_s = pattern.get("off_s", 0)
        self.sticky_s = getattr(self.fault, "sticky_s", None)  # see windows.py
        self.created_s = rule.created_s
        self.expires_s = self.created_s + rule.ttl_s if rule.ttl_s else None
        self.generator = generator

    def active(self, now: float) -> bool:
        if self.on_s is None:
            return True
        return (now - self.created_s) % (self.on_s + self.off_s) < self.on_s

    def cycle(self, now: float) -> int:
        """Which burst cycle `now` is in (0 for a steady rule): a sticky window's key."""
        if self.on_s is None:
            return 0
        return int((now - self.created_s) // (self.on_s + self.off_s))

    def draw(self, seed: int, request: RequestInfo) -> int:
        if request.request_id is not None:
            return hash64(seed, self.id, request.key, request.request_id)
        return self.generator.getrandbits(64)


@dataclass(frozen=True)
class RuleSet:
    revision: int | None
    enabled: bool
    seed: int
    rules: tuple[CompiledRule, ...]
    by_id: dict = field(default_factory=dict, compare=False, repr=False)
    callers: header_faults.CallerFaults = header_faults.OFF  # read with the rules
    # app version -> the rules whose specifier admits it; most requests then skip every
    # rule aimed at another version. Rebuilt with the RuleSet; bounded like metrics labels.
    _by_version: dict = field(default_factory=dict, compare=False, repr=False)
    # (app version, method, path) -> those of them whose methods and path glob admit it, so
    # a request tries only rules aimed at it however many there are. Short paths only, and
    # a bounded number of them: clients choose paths.
    _by_route: dict = field(default_factory=dict, compare=False, repr=False)

    def for_request(self, app_version: str | None, method: str,
                    path: str) -> tuple[CompiledRule, ...]:
        key = (app_version, method, path)
        candidates = self._by_route.get(key)
        if candidates is None:
            candidates = tuple(rule for rule in self.for_version(app_version)
                               if rule.matcher.admits(method, path))
            if len(path) <= MAX_CACHED_PATH and len(self._by_route) < MAX_CACHED_ROUTES:
                self._by_route[key] = candidates
        return candidates

    def for_version(self, app_version: str | None) -> tuple[CompiledRule, ...]:
        candidates = self._by_version.get(app_version)
        if candidates is None:
            candidates = tuple(rule for rule in self.rules if not rule.for_delivery and (
                rule.matcher.specifier is None or rule.matcher.version_matches(app_version)))
            if len(self._by_version) < MAX_CACHED_VERSIONS:
                self._by_version[app_version] = candidates
        return candidates


EMPTY = RuleSet(None, False, 0, ())


class Decider:
    def __init__(self, store, refresh_s: float = 0.25, max_held: int = MAX_HELD,
                 version_label: VersionLabel | None = None):
        self.store, self.refresh_s = store, refresh_s
        self.max_stale_s = 2 * refresh_s  # see the module docstring
        self.version_label = version_label or GenericVersionLabel()
        self.rules = EMPTY
        self.holds = Holds(max_held, self._next_check_s)
        self.windows = DeviceWindows(store)
        self._checked_at = -math.inf  # when the read behind `rules` started (monotonic)
        self._due = -math.inf  # _checked_at + refresh_s: due for a re-read from then on
        self._seen_changes = -1  # store.changes when that read started
        self._retry_at = -math.inf  # after a failed read: not before this
        self._lock = threading.Lock()
        self._warned_at = -WARN_EVERY_S
        self._generators: dict[tuple[int, str], random.Random] = {}
        self._compiled: dict[tuple, CompiledRule] = {}
        store.on_change(self._changed_here)

    def current(self, max_age_s: float | None = None) -> RuleSet:
        """The rules in force: confirmed by a database read that started less than
        `max_age_s` (default `max_stale_s`) ago and after this process's last change."""
        changes, now = self.store.changes, time.monotonic()
        if changes == self._seen_changes:
            if now < self._due:  # the hot path: confirmed under refresh_s ago
                return self.rules
            if now - self._checked_at < self.max_stale_s and max_age_s is None:
                if self._lock.acquire(blocking=False):  # due: this thread reads, the rest
                    try:                                # go on meanwhile
                        self._reload(time.monotonic() - self.refresh_s, changes)
                    finally:
                        self._lock.release()
                return self.rules
        max_age_s = self.max_stale_s if max_age_s is None else max_age_s
        self._wait_for_rules(time.monotonic() - max_age_s, changes)
        return self.rules

    def hold(self, rule_id: str, seconds: float) -> bool:
        """A slow fault's wait (see holding.py): False when it was cut short or refused."""
        return self.holds.hold(seconds, lambda: self.applies(rule_id, fresh=True))

    def span(self, rule_id: str, seconds: float):
        """A slot for a fault's many waits, `seconds` in all (see holding.py)."""
        return self.holds.span(seconds, lambda: self.applies(rule_id, fresh=True))

    def applies(self, rule_id: str, fresh: bool = False) -> bool:
        """Whether rule `rule_id` is still in force (kill switch on, rule enabled, not
        expired); `fresh`: by rules read within the last `refresh_s` (a hold's re-check)."""
        rules = self.current(self.refresh_s if fresh else None)
        if rule_id == header_faults.RULE_ID:
            return rules.enabled and rules.callers.on
        rule = rules.by_id.get(rule_id) if rules.enabled else None
        return rule is not None and (rule.expires_s is None or time.time() < rule.expires_s)

    def _changed_here(self) -> None:
        """The store committed a change: the next request reads it (even right after a
        failed read), and every hold in this process re-checks now."""
        self._retry_at = -math.inf
        self.holds.rules_moved()

    def _next_check_s(self) -> float:
        """How long until the rules in hand are due for a re-read (a hold sleeps this long
        between checks, so it learns of a change elsewhere within `refresh_s` of it)."""
        return max(max(self._due, self._retry_at) - time.monotonic(), 0.001)

    def _confirmed(self, since: float, changes: int) -> bool:
        return self._checked_at >= since and self._seen_changes >= changes

    def decide(self, request: RequestInfo, rules: RuleSet | None = None) -> Decision | None:
        rules = rules or self.current()
        if request.asked is not None:
            chosen = self._caller_chosen(request, rules)
            if chosen is not None:
                return chosen
        if not rules.enabled:
            return None
        recorder = self.store.recorder
        for rule in rules.for_request(request.app_version, request.method, request.path):
            if rule.expires_s is not None and request.now >= rule.expires_s:
                recorder.expired_seen()
                continue
            if not rule.matcher.matches(request.method, request.path, request.app_version,
                                        request.platform, request.user_id, request.device_id,
                                        request.headers):
                continue
            cohort = rule.matcher.cohort or rule.id
            if not in_cohort(rules.seed, cohort, request.key, rule.matcher.cohort_percent):
                continue
            recorder.matched(rule.id)
            sticky = rule.sticky_s is not None and request.device_id is not None
            if sticky:  # a device inside its window is hit whatever the bursts and draws say
                until = self.windows.until(rule.id, request.device_id, rule.cycle(request.now))
                if until is not None:
                    if request.now >= until:
                        continue  # its window in this cycle is over
                    return self._fire(rule, request, rule.draw(rules.seed, request))
            if not rule.active(request.now):
                continue
            drawn = rule.draw(rules.seed, request)
            if drawn / 2**64 >= rule.probability:
                continue
            if sticky and request.now >= self.windows.open(
                    rule.id, request.device_id, rule.cycle(request.now), rule.sticky_s,
                    request.now):
                continue  # another process opened (and ended) it first
            return self._fire(rule, request, drawn)
        return None

    def plan_delivery(self, event_type: str, user_id: str | None, event_id: str,
                      attempt: int, now: float | None = None) -> DeliveryPlan:
        """How to send one webhook delivery attempt (`chaos.deliveries`)."""
        return deliveries.plan(self.current(), self.store.recorder, event_type, user_id,
                               event_id, attempt, time.time() if now is None else now)

    def _fire(self, rule: CompiledRule, request: RequestInfo, drawn: int) -> Decision:
        recorder = self.store.recorder
        recorder.injected(rule.id, _event(rule.id, rule.fault_type, rule.phase, request))
        count_injection(rule.id, rule.fault_type, rule.phase,
                        self.version_label(request.app_version))
        return Decision(rule.id, rule.fault, rule.phase, random.Random(drawn))

    def _caller_chosen(self, request: RequestInfo, rules: RuleSet) -> Decision | None:
        """The faults X-Banksim-Fault asks for, when the setting is on (and the kill switch
        too) and the request's device or user is allowed; else None, the reason counted."""
        if not (rules.enabled and rules.callers.on):
            return _ignored("off")
        callers = rules.callers  # None is in neither set
        if request.device_id not in callers.devices and request.user_id not in callers.users:
            return _ignored("not_allowed")
        asked = header_faults.parse(request.asked)
        if asked.reason is not None:
            return _ignored(asked.reason)
        drawn = (hash64(rules.seed, header_faults.RULE_ID, request.key, request.request_id)
                 if request.request_id is not None else random.getrandbits(64))
        label = self.version_label(request.app_version)

        def record(kind: str) -> None:  # called as each item acts (header_faults.py)
            self.store.recorder.injected(header_faults.RULE_ID, _event(
                header_faults.RULE_ID, kind, "before", request))
            count_injection(header_faults.RULE_ID, kind, "before", label)

        chain = header_faults.ChainedFaults(asked.faults, record, self.holds,
                                            lambda: self.caller_allowed(request))
        return Decision(header_faults.RULE_ID, chain, "before", random.Random(drawn))

    def caller_allowed(self, request: RequestInfo) -> bool:
        """Whether `request` may still use X-Banksim-Fault, by rules read within the last
        `refresh_s` (a held caller-chosen fault's re-check: the kill switch, the setting,
        and the request's device or user on the allow-list)."""
        rules = self.current(self.refresh_s)
        callers = rules.callers
        return (rules.enabled and callers.on and (request.device_id in callers.devices
                                                  or request.user_id in callers.users))

    def _wait_for_rules(self, since: float, changes: int) -> None:
        """Make the rules in hand ones confirmed by a read that started at `since` or later
        and saw this process's change number `changes`: wait for the reload in progress,
        or do one. Gives up after WAIT_S, or when the database just failed to answer
        (it is asked again `refresh_s` later), keeping the last rules."""
        deadline = time.monotonic() + WAIT_S
        while not self._confirmed(since, changes):
            if time.monotonic() < self._retry_at:
                return
            if not self._lock.acquire(timeout=max(deadline - time.monotonic(), 0)):
                self._warn("chaos: rules reload still running after %.1f s, "
                           "going on with the last ones", WAIT_S)
                return
            try:
                if not self._confirmed(since, changes):
                    self._reload(since, changes)
            finally:
                self._lock.release()

    def _reload(self, since: float, changes: int) -> None:
        """Read the revision (and the rules when it moved), under `_lock`, unless a read
        that started at `since` or later already did."""
        if self._confirmed(since, changes) or time.monotonic() < self._retry_at:
            return
        started, changes = time.monotonic(), self.store.changes
        try:
            moved = self.store.revision() != self.rules.revision
            if moved:
                self.rules = self._compile(self.store.snapshot())
                record_rules(len(self.rules.rules) if self.rules.enabled else 0,
                             self.rules.revision)
        except SQLAlchemyError as exc:
            self._retry_at = started + self.refresh_s
            self._warn("chaos: cannot read rules, keeping the last ones: %s", exc)
            return
        self._checked_at, self._seen_changes = started, changes
        self._due = started + self.refresh_s
        if moved:
            self.holds.rules_moved()

    def _warn(self, message: str, *args) -> None:
        if time.monotonic() - self._warned_at >= WARN_EVERY_S:
            self._warned_at = time.monotonic()
            log.warning(message, *args)

    def _compile(self, snapshot) -> RuleSet:
        """The snapshot's rules, compiled; a rule whose stored definition (and the seed)
        did not change since the last reload keeps its compiled form."""
        if snapshot is None:
            return EMPTY
        generators, compiled = {}, {}
        for rule in snapshot.rules:
            key = (snapshot.seed, rule.id)
            generators[key] = self._generators.get(key) or random.Random(hash64(*key))
            known = (snapshot.seed, rule)
            compiled[known] = self._compiled.get(known) or CompiledRule(rule, generators[key])
        self._generators, self._compiled = generators, compiled
        rules = tuple(compiled.values())
        return RuleSet(snapshot.revision, snapshot.enabled, snapshot.seed, rules,
                       {rule.id: rule for rule in rules},
                       header_faults.CallerFaults.from_settings(snapshot.settings))


def _ignored(reason: str) -> None:
    count_header_ignored(reason)
    return None


def _event(rule_id: str, fault: str, phase: str, request: RequestInfo) -> dict:
    return {"at_s": request.now, "rule_id": rule_id, "fault": fault,
            "phase": phase, "method": request.method, "path": request.path[:500],
            "app_version": _clip(request.app_version, 64), "platform": _clip(request.platform, 32),
            "user_id": _clip(request.user_id, 64), "device_id": _clip(request.device_id, 64)}


__all__ = ["Decision", "RequestInfo", "Decider", "RuleSet", "hash64", "in_cohort"]
