"""Client retry policies (`--client-policy none|naive|backoff`) and what may be retried.

Pure: no Locust, no I/O. The mobile client asks `retryable(...)` after each attempt and
`policy.delay_s(...)` before the next one.

Every policy reuses the SAME Idempotency-Key on the retries of a money movement, so a
retry can never move money twice: the policies differ only in what the user lives
through (waiting, hammering a sick server), which is what the report compares.
"""
from dataclasses import dataclass
from random import Random

# How long a Retry-After may hold a simulated user; a server asking for more is
# treated as asking for this much (the user gives up waiting, not the policy).
MAX_RETRY_AFTER_S = 30.0


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to retry a failed attempt and how long to wait before each retry."""

    name: str
    max_retries: int
    base_s: float = 0.0
    cap_s: float = 0.0
    honour_retry_after: bool = False

    def delay_s(self, retry: int, rng: Random, retry_after_s: float | None = None) -> float:
        """Seconds to wait before retry number `retry` (1 = the first retry).

        Backoff is "full jitter": uniform(0, min(cap, base * 2**(retry-1))). A
        Retry-After the server sent is a floor when the policy honours it.
        """
        if retry < 1:
            raise ValueError("retry numbers start at 1")
        ceiling = min(self.cap_s, self.base_s * 2 ** (retry - 1))
        delay = rng.uniform(0.0, ceiling) if ceiling > 0 else 0.0
        if self.honour_retry_after and retry_after_s is not None:
            delay = max(delay, min(retry_after_s, MAX_RETRY_AFTER_S))
        return delay


POLICIES = {
    "none": RetryPolicy("none", max_retries=0),
    "naive": RetryPolicy("naive", max_retries=3),
    "backoff": RetryPolicy("backoff", max_retries=4, base_s=0.25, cap_s=4.0,
                           honour_retry_after=True),
}


def policy_named(name: str) -> RetryPolicy:
    try:
        return POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown client policy {name!r}; one of {', '.join(POLICIES)}") from None


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
