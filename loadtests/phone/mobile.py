"""The mobile app as the bank sees it: a device, its headers, its timeouts and its retries.

No Locust import: `MobileClient` drives any session with Locust's `HttpSession.request`
signature (`name=`, `catch_response=True`, a response with `success()`/`failure()`; the
phones use FastHttpUser's, made to behave like requests by `transport.PhoneTransport`),
so each attempt shows in Locust's statistics under its grouped name while the client
decides, attempt by attempt, whether the answer is good, a business answer (422
insufficient_funds is the bank saying no, not the bank failing), or worth a retry.
"""
import json
import time
from dataclasses import dataclass, field
from random import Random

from loadtests.phone.resilience import BreakerState, RetryBudgetState
from loadtests.phone.retry import ClientPolicy, parse_retry_after, retryable


@dataclass
class Device:
    """One simulated phone: who is signed in on it, its platform and installed version."""

    number: int                 # n of the seeded customer user{n}@example.com
    platform: str
    app_version: str
    device_id: str
    network: str = "cellular"   # X-Network: "wifi" or "cellular"

    @property
    def email(self) -> str:
        return f"user{self.number}@example.com"


class StepFailed(Exception):
    """A step of a journey failed after the client's retries; `outcome` says how its last
    attempt failed: one of transport.OUTCOMES on the wire, or "error_answer" (an answer
    the client could not take: an error status it did not expect, a body not JSON)."""

    def __init__(self, message: str, status: int | None = None, outcome: str | None = None):
        super().__init__(message)
        self.status, self.outcome = status, outcome


@dataclass
class Answer:
    status: int
    body: dict | list | None
    headers: dict = field(default_factory=dict)



class MobileClient:
    """Sends one logical request, retrying it as the app's client policy says.

    Every attempt gets a fresh X-Request-Id drawn from the device's seeded id stream
    (so two runs with the same seed send the same ids: chaos decisions replay), and
    the same Idempotency-Key when one is given. The policy's retry budget and circuit
    breaker keep their state here, per phone. Counters since creation (a `Journey` reads
    their difference): `requests` and `retries` sent, `wait_s` slept before retries,
    `fast_failed` calls the open breaker failed without a request, `budget_denied`
    retries the budget refused, `breaker_opened` times the breaker opened.
    """

    COUNTERS = ("requests", "retries", "wait_s", "fast_failed", "budget_denied",
                "breaker_opened")

    def __init__(self, session, device: Device, policy: ClientPolicy, *, id_rng: Random,
                 jitter_rng: Random, timeout_s: float | None = None, sleep=time.sleep,
                 clock=time.monotonic):
        self.session, self.device, self.policy = session, device, policy
        self.id_rng, self.jitter_rng = id_rng, jitter_rng
        self.timeout_s = policy.timeout_s if timeout_s is None else timeout_s
        self.sleep = sleep
        self.token: str | None = None
        self.requests = self.retries = self.fast_failed = self.budget_denied = 0
        self.wait_s = 0.0
        self.last_outcome: str | None = None  # how the last attempt without an answer failed
        self.budget = RetryBudgetState(policy.retry_budget, clock) \
            if policy.retry_budget else None
        self.breaker = BreakerState(policy.circuit_breaker, clock) \
            if policy.circuit_breaker else None

    @property
    def breaker_opened(self) -> int:
        return self.breaker.opened if self.breaker else 0

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{self.id_rng.getrandbits(96):024x}"

    def headers(self, idempotency_key: str | None = None) -> dict:
        headers = {"X-App-Version": self.device.app_version, "X-Platform": self.device.platform,
                   "X-Device-Id": self.device.device_id, "X-Request-Id": self.new_id("req"),
                   "X-Network": self.device.network, "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def call(self, method: str, path: str, *, name: str | None = None, json_body=None,
             params: dict | None = None, expect: tuple[int, ...] = (200,),
             accept: tuple[tuple[int, str], ...] = (), check=None,
             idempotency_key: str | None = None) -> Answer:
        """The answer to `method path`, or StepFailed once the policy gives up.

        `expect`: statuses of success, whose body `check(body)` must accept (it returns
        a problem or None). `accept`: (status, error code) pairs that are valid business
        answers. Anything else fails the attempt; `retry.retryable` says whether to retry.
        """
        name = name or path
        label = f"{method} {name}"
        retry_after = answer = None
        for attempt in range(self.policy.retries + 1):
            if attempt:
                if self.budget is not None and not self.budget.try_retry():
                    self.budget_denied += 1
                    break
                delay = self.policy.delay_s(attempt, self.jitter_rng, retry_after)
                self.sleep(delay)
                self.wait_s += delay
            if self.breaker is not None and not self.breaker.allow():
                self.fast_failed += 1
                if answer is None:
                    raise StepFailed(f"{label}: circuit open (failed fast)",
                                     outcome="failed_fast")
                break
            if attempt:
                self.retries += 1
            elif self.budget is not None:
                self.budget.first_attempt()
            self.requests += 1
            answer, problem, again, retry_after = self._attempt(
                method, path, name, json_body, params, expect, accept, check, idempotency_key)
            if self.breaker is not None:
                self.breaker.record(problem is not None and again)
            if problem is None:
                return answer
            if not again:
                break
        raise StepFailed(f"{label}: {problem}", answer.status or None,
                         "error_answer" if answer.status else self.last_outcome)

    def _attempt(self, method, path, name, json_body, params, expect, accept, check, key):
        with self.session.request(method, path, name=name, catch_response=True,
                                  headers=self.headers(key), json=json_body, params=params,
                                  timeout=(self.timeout_s, self.timeout_s)) as response:
            status = response.status_code or 0
            if not status:
                error = getattr(response, "error", None)
                problem = f"no answer ({type(error).__name__ if error else 'connection error'})"
                self.last_outcome = getattr(response, "outcome", None) or "reset_before_answer"
                response.failure(problem)
                return Answer(0, None), problem, True, None
            body, is_json = _json_of(response)
            headers = response.headers or {}
            answer = Answer(status, body, headers)
            problem = _judge(status, body, is_json, expect, accept, check)
            if problem is None:
                response.success()
                return answer, None, False, None
            response.failure(problem)
            again = retryable(status, _error_code(body), is_json)
            return answer, problem, again, parse_retry_after(headers.get("Retry-After"))


def _json_of(response):
    content = response.content or b""
    try:
        return json.loads(content), True
    except ValueError:
        return None, False


def _error_code(body) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"].get("code")
    return None


def _judge(status, body, is_json, expect, accept, check) -> str | None:
    """None when the attempt is good, else what is wrong with it."""
    if status in expect:
        if not is_json and status != 204:
            return f"{status} with a body that is not JSON"
        problem = check(body) if check else None
        return f"{status} but {problem}" if problem else None
    code = _error_code(body)
    if (status, code) in accept:
        return None
    if not is_json:
        return f"{status} with a body that is not JSON"
    return f"{status} {code or 'unexpected answer'}"


class Journey:
    """Times one journey and counts its requests and retries.

    Use as `with Journey(name, client, on_done) as journey:`; a StepFailed inside ends the
    journey as failed and is swallowed; any other exception is a bug in the load test:
    it is recorded as a failed journey and re-raised so Locust shows it.
    `on_done(journey)` runs once with `ok`, `error`, `duration_ms` and the client's
    counters over the journey (`requests`, `retries`, `wait_s`, `fast_failed`,
    `budget_denied`, `breaker_opened`), plus the version and platform at the journey's start.
    """

    def __init__(self, name: str, client: MobileClient, on_done, clock=time.perf_counter):
        self.name, self.client, self.on_done, self.clock = name, client, on_done, clock
        self.ok, self.error, self.duration_ms = False, None, 0.0
        self.failure: StepFailed | None = None

    def __enter__(self):
        self.app_version = self.client.device.app_version
        self.platform = self.client.device.platform
        self._start = self.clock()
        self._counts = {key: getattr(self.client, key) for key in MobileClient.COUNTERS}
        return self

    def __exit__(self, exc_type, exc, tb):
        self.duration_ms = (self.clock() - self._start) * 1000
        for key, before in self._counts.items():
            setattr(self, key, getattr(self.client, key) - before)
        self.ok = exc is None
        if exc_type is not None:
            self.error = str(exc) if isinstance(exc, StepFailed) else f"bug: {exc!r}"
            self.failure = exc if isinstance(exc, StepFailed) else None
        if exc_type is None or issubclass(exc_type, Exception):
            self.on_done(self)
        return exc_type is not None and issubclass(exc_type, StepFailed)
