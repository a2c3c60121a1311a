"""The app's client resilience policy as data (a scenario's `client:`), and what may be retried.

Pure: no Locust, no I/O. A policy is a `ClientPolicy`: the per-request timeout, how many
retries, the backoff between them (capped exponential, full jitter or none), whether a
Retry-After is honoured, and optionally a retry budget and a circuit breaker (their state
lives per phone in `resilience.py`). The built-ins (`none`, `naive`, `backoff`,
`budgeted`, `breaker`) are policies like any other; `policy_of(value)` reads a name or a
scenario's mapping. The mobile client asks `retryable(...)` after each attempt and
`policy.delay_s(...)` before the next one.

Every policy reuses the SAME Idempotency-Key on the retries of a money movement, so a
retry can never move money twice: the policies differ only in what the user lives
through (waiting, hammering a sick server), which is what the report compares.
"""
from dataclasses import asdict, dataclass
from random import Random

# How long a Retry-After may hold a simulated user; a server asking for more is
# treated as asking for this much (the user gives up waiting, not the policy).
MAX_RETRY_AFTER_S = 30.0
DEFAULT_TIMEOUT_S = 5.0
JITTERS = ("full", "none")


@dataclass(frozen=True)
class Backoff:
    """Wait min(cap_s, base_s * 2**(retry-1)) before a retry; `full` jitter draws the
    wait uniformly from 0 to that (AWS's "full jitter"), `none` waits exactly that."""

    base_s: float
    cap_s: float
    jitter: str = "full"


@dataclass(frozen=True)
class RetryBudget:
    """Retries at most `ratio` x the first attempts of the last `window_s` seconds, per
    phone (gRPC's retry throttling, Finagle's RetryBudget)."""

    ratio: float
    window_s: float


@dataclass(frozen=True)
class CircuitBreaker:
    """Opens when at least `min_calls` calls of the last `window_s` seconds ended and a
    share `failure_ratio` of them failed; while open (`open_s`) calls fail at once, then
    one probe call is let through (half-open): its success closes the breaker, its
    failure opens it again."""

    failure_ratio: float
    window_s: float
    min_calls: int
    open_s: float


@dataclass(frozen=True)
class ClientPolicy:
    """How the app sends a request: timeout, retries, backoff, budget, breaker."""

    name: str
    retries: int
    timeout_s: float = DEFAULT_TIMEOUT_S
    backoff: Backoff | None = None  # None: retry at once
    honour_retry_after: bool = False
    retry_budget: RetryBudget | None = None
    circuit_breaker: CircuitBreaker | None = None

    @property
    def max_retries(self) -> int:
        return self.retries

    def delay_s(self, retry: int, rng: Random, retry_after_s: float | None = None) -> float:
        """Seconds to wait before retry number `retry` (1 = the first retry).

        A Retry-After the server sent is a floor when the policy honours it.
        """
        if retry < 1:
            raise ValueError("retry numbers start at 1")
        delay = 0.0
        if self.backoff is not None:
            ceiling = min(self.backoff.cap_s, self.backoff.base_s * 2 ** (retry - 1))
            if ceiling > 0:
                delay = rng.uniform(0.0, ceiling) if self.backoff.jitter == "full" else ceiling
        if self.honour_retry_after and retry_after_s is not None:
            delay = max(delay, min(retry_after_s, MAX_RETRY_AFTER_S))
        return delay

    def as_dict(self) -> dict:
        """The policy as run, for the report's `client` block (absent parts are null)."""
        return asdict(self)


RetryPolicy = ClientPolicy  # the name the phones' tests and probes knew it by

POLICIES = {
    "none": ClientPolicy("none", retries=0),
    "naive": ClientPolicy("naive", retries=3),
    "backoff": ClientPolicy("backoff", retries=4, backoff=Backoff(0.25, 4.0),
                            honour_retry_after=True),
    "budgeted": ClientPolicy("budgeted", retries=3,
                             retry_budget=RetryBudget(ratio=0.2, window_s=30.0)),
    "breaker": ClientPolicy("breaker", retries=3,
                            circuit_breaker=CircuitBreaker(failure_ratio=0.5, window_s=10.0,
                                                           min_calls=5, open_s=5.0)),
}


def policy_named(name: str) -> ClientPolicy:
    try:
        return POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown client policy {name!r}; one of {', '.join(POLICIES)}") from None


def policy_of(value, timeout_s: float | None = None) -> ClientPolicy:
    """The policy a scenario's `client` (a built-in's name or a validated mapping) says;
    `timeout_s` (the command line's --client-timeout) replaces a built-in's timeout, never
    one the mapping writes."""
    if isinstance(value, str):
        policy = policy_named(value)
        if timeout_s is not None:
            policy = ClientPolicy(**{**_fields(policy), "timeout_s": float(timeout_s)})
        return policy
    value = dict(value)
    backoff, budget, breaker = (value.get(key) for key in
                                ("backoff", "retry_budget", "circuit_breaker"))
    timeout = value.get("timeout_s", timeout_s if timeout_s is not None else DEFAULT_TIMEOUT_S)
    return ClientPolicy(
        name=str(value.get("name", "custom")), retries=int(value.get("retries", 0)),
        timeout_s=float(timeout),
        backoff=Backoff(float(backoff["base_s"]), float(backoff["cap_s"]),
                        backoff.get("jitter", "full")) if backoff else None,
        honour_retry_after=bool(value.get("honour_retry_after", False)),
        retry_budget=RetryBudget(float(budget["ratio"]), float(budget["window_s"]))
        if budget else None,
        circuit_breaker=CircuitBreaker(float(breaker["failure_ratio"]),
                                       float(breaker["window_s"]), int(breaker["min_calls"]),
                                       float(breaker["open_s"])) if breaker else None)


def _fields(policy: ClientPolicy) -> dict:
    return {name: getattr(policy, name) for name in policy.__dataclass_fields__}


def retryable(status: int | None, error_code: str | None = None, body_is_json: bool = True) -> bool:
    """Whether an attempt's outcome is worth another try.

    `status` None means no HTTP answer at all (connection refused or reset, timeout).
    Retried: no answer, 5xx, 429, 409 `idempotency_conflict` (the first request is
    still running) and 2xx bodies that are not JSON (a malformed answer). Never another
    4xx: the same request would get the same answer.
    """
    if status is None or status >= 500 or status == 429:
        return True
    if status == 409:
        return error_code == "idempotency_conflict"
    if 200 <= status < 300:
        return not body_is_json
    return False


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is not used by banksim: ignored)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
