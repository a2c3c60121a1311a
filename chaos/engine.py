"""The rule engine: the one place that decides whether a request gets a fault.

For each request, the enabled rules are tried in creation order and the first
rule that matches *and fires* wins:

1. match block (methods, platform, path, users, app version) - `Matcher`;
2. cohort: a sticky share of users, `bucket(seed, cohort, user else device) <
   cohort_percent`, where cohort is the rule's `match.cohort` name (rules that
   share a name share their users) or else the rule id; a request with neither user
   nor device is only in a rule's cohort when cohort_percent is 100. Passing 1 and 2
   counts `matched`;
3. pattern: a burst rule is active only in its "on" windows, counted from the
   rule's creation time so every process agrees on the windows;
4. probability: with an X-Request-Id the draw is a hash of (seed, rule, user
   else device, request id), so the same requests fail in every run with the
   same seed; without one it comes from a generator seeded with (seed, rule).

Hashes are BLAKE2b, never Python's `hash()` (randomised per process).

Rules are cached per process. The revision number in the database is checked
at most every `refresh_s` (and at once after a change made through this
process's store), so a change made anywhere applies everywhere within a
second while most requests touch no database at all. While one thread reloads,
the others wait for it (up to `WAIT_S`) rather than go on with rules it already
knows are stale. A reload recompiles only the rules whose stored definition changed.
"""
import hashlib
import json
import logging
import random
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError

from .faults import Fault, build_fault
from .holding import Holds
from .matching import Matcher
from .metrics import GenericVersionLabel, VersionLabel, count_injection

log = logging.getLogger("chaos")
_SEP = "\x1f"
WARN_EVERY_S = 30.0
MAX_CACHED_VERSIONS = 256
MAX_CACHED_ROUTES, MAX_CACHED_PATH = 4096, 200
MAX_STALE_S = 0.5  # rules confirmed this recently are used while another thread reloads
WAIT_S = 1.0  # longest a request waits for another thread's reload before using old rules
MAX_HELD = 4  # requests per process a slow fault may hold at once (see holding.py)


def hash64(*parts) -> int:
    text = _SEP.join("" if p is None else str(p) for p in parts)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def in_cohort(seed: int, rule_id: str, key: str | None, percent: float) -> bool:
    """Whether `key` (a user, else a device) is in the rule's sticky cohort."""
    if percent >= 100:
        return True
    if key is None:
        return False
    return hash64(seed, rule_id, key) % 10_000 < round(percent * 100)


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
        self.matcher = Matcher(json.loads(rule.match or "{}"))
        pattern = json.loads(rule.pattern or "{}")
        self.on_s = pattern.get("on_s") if pattern.get("type") == "burst" else None
        self.off_s = pattern.get("off_s", 0)
        self.created_s = rule.created_s
        self.expires_s = self.created_s + rule.ttl_s if rule.ttl_s else None
        self.generator = generator

    def active(self, now: float) -> bool:
        if self.on_s is None:
            return True
        return (now - self.created_s) % (self.on_s + self.off_s) < self.on_s

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
            candidates = tuple(rule for rule in self.rules
                               if rule.matcher.specifier is None
                               or rule.matcher.version_matches(app_version))
            if len(self._by_version) < MAX_CACHED_VERSIONS:
                self._by_version[app_version] = candidates
        return candidates


EMPTY = RuleSet(None, False, 0, ())


class RuleEngine:
    def __init__(self, store, refresh_s: float = 0.25, max_held: int = MAX_HELD,
                 version_label: VersionLabel | None = None):
        self.store, self.refresh_s = store, refresh_s
        self.version_label = version_label or GenericVersionLabel()
        self.rules = EMPTY
        self.holds = Holds(max_held, refresh_s)
        self._due = 0.0
        self._checked_at = -MAX_STALE_S  # when the revision behind `rules` was read
        self._seen_changes = None
        self._lock = threading.Lock()
        self._warned_at = -WARN_EVERY_S
        self._generators: dict[tuple[int, str], random.Random] = {}
        self._compiled: dict[tuple, CompiledRule] = {}

    def current(self) -> RuleSet:
        """The rules in force, reloaded when the database's revision has moved."""
        if self._stale():
            self._refresh()
        return self.rules

    def hold(self, rule_id: str, seconds: float) -> bool:
        """A slow fault's wait (see holding.py): False when it was cut short or refused."""
        return self.holds.hold(seconds, lambda: self.applies(rule_id))

    def applies(self, rule_id: str) -> bool:
        """Whether rule `rule_id` is still in force (kill switch on, rule enabled, not expired)."""
        rules = self.current()
        rule = rules.by_id.get(rule_id) if rules.enabled else None
        return rule is not None and (rule.expires_s is None or time.time() < rule.expires_s)

    def _fresh_enough(self) -> bool:
        return time.monotonic() - self._checked_at < MAX_STALE_S

    def _stale(self) -> bool:
        return time.monotonic() >= self._due or self.store.changes != self._seen_changes

    def decide(self, request: RequestInfo, rules: RuleSet | None = None) -> Decision | None:
        rules = rules or self.current()
        if not rules.enabled:
            return None
        recorder = self.store.recorder
        for rule in rules.for_request(request.app_version, request.method, request.path):
            if rule.expires_s is not None and request.now >= rule.expires_s:
                recorder.expired_seen()
                continue
            if not rule.matcher.matches(request.method, request.path, request.app_version,
                                        request.platform, request.user_id):
                continue
            cohort = rule.matcher.cohort or rule.id
            if not in_cohort(rules.seed, cohort, request.key, rule.matcher.cohort_percent):
                continue
            recorder.matched(rule.id)
            if not rule.active(request.now):
                continue
            drawn = rule.draw(rules.seed, request)
            if drawn / 2**64 >= rule.probability:
                continue
            recorder.injected(rule.id, _event(rule, request))
            count_injection(rule.id, rule.fault_type, self.version_label(request.app_version))
            return Decision(rule.id, rule.fault, rule.phase, random.Random(drawn))
        return None

    def _refresh(self) -> None:
        """Check the revision, reloading when it moved. While another thread does that, go on
        with the rules in hand only if they were confirmed under MAX_STALE_S ago; otherwise
        wait for the reload (up to WAIT_S). So a change reaches every request that starts
        MAX_STALE_S after it (a change made through this process starts a reload at once),
        and a reload stalls no one whose rules are recent."""
        if self._fresh_enough():
            if not self._lock.acquire(blocking=False):
                return
        elif not self._lock.acquire(timeout=WAIT_S):
            return  # a reload stuck on the database: keep the last rules meanwhile
        try:
            if not self._stale():
                return  # another thread reloaded while this one waited
            started = self._due = time.monotonic()
            self._due += self.refresh_s
            changes = self.store.changes
            if self.store.revision() != self.rules.revision:
                self.rules = self._compile(self.store.snapshot())
                self.holds.rules_moved()
            self._checked_at, self._seen_changes = started, changes
        except SQLAlchemyError as exc:
            if time.monotonic() - self._warned_at >= WARN_EVERY_S:
                self._warned_at = time.monotonic()
                log.warning("chaos: cannot read rules, keeping the last ones: %s", exc)
        finally:
            self._lock.release()

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
                       {rule.id: rule for rule in rules})


def _event(rule: CompiledRule, request: RequestInfo) -> dict:
    return {"at_s": request.now, "rule_id": rule.id, "fault": rule.fault_type,
            "phase": rule.phase, "method": request.method, "path": request.path[:500],
            "app_version": _clip(request.app_version, 64), "platform": _clip(request.platform, 32),
            "user_id": _clip(request.user_id, 64), "device_id": _clip(request.device_id, 64)}


def _clip(value: str | None, size: int) -> str | None:
    return value[:size] if value is not None else None


__all__ = ["Decision", "RequestInfo", "RuleEngine", "RuleSet", "hash64", "in_cohort"]
