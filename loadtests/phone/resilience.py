"""A phone's retry budget and circuit breaker: the state a `ClientPolicy` keeps per phone.

Pure: time comes from the `clock` handed in (monotonic seconds), so tests drive it. Each
phone has its own (a phone cannot see its neighbours' failures, as a real app cannot).

- `RetryBudgetState`: a sliding window of first attempts and retries; a retry is allowed
  while retries + 1 <= ratio x first attempts in the last window_s. A phone that made few
  calls lately therefore has no retries to spend: exactly what keeps a fleet of them from
  multiplying a sick bank's load.
- `BreakerState`: closed -> open (failure ratio over the window reached, with at least
  min_calls outcomes) -> after open_s, half-open: ONE probe call goes through; its success
  closes the breaker (the window forgets), its failure opens it again. Calls while open,
  or while the probe is out, fail fast without a request.
"""
from collections import deque

from loadtests.phone.retry import CircuitBreaker, RetryBudget

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class RetryBudgetState:
    def __init__(self, budget: RetryBudget, clock):
        self.budget, self.clock = budget, clock
        self.firsts: deque[float] = deque()
        self.retries: deque[float] = deque()

    def _forget(self, now: float) -> None:
        horizon = now - self.budget.window_s
        for times in (self.firsts, self.retries):
            while times and times[0] <= horizon:
                times.popleft()

    def first_attempt(self) -> None:
        self.firsts.append(self.clock())

    def try_retry(self) -> bool:
        """Spend one retry if the budget has one (True), else deny it (False)."""
        now = self.clock()
        self._forget(now)
        if len(self.retries) + 1 > self.budget.ratio * len(self.firsts):
            return False
        self.retries.append(now)
        return True


class BreakerState:
    def __init__(self, breaker: CircuitBreaker, clock):
        self.breaker, self.clock = breaker, clock
        self.state = CLOSED
        self.outcomes: deque[tuple[float, bool]] = deque()  # (when, failed)
        self.opened_at = 0.0
        self.probe_out = False
        self.opened = 0  # times it opened

    def allow(self) -> bool:
        """Whether a call may go out now (False: fail fast)."""
        if self.state == OPEN and self.clock() - self.opened_at >= self.breaker.open_s:
            self.state, self.probe_out = HALF_OPEN, False
        if self.state == CLOSED:
            return True
        if self.state == HALF_OPEN and not self.probe_out:
            self.probe_out = True
            return True
        return False

    def record(self, failed: bool) -> None:
        """The outcome of a call that went out."""
        now = self.clock()
        if self.state == HALF_OPEN:
            if failed:
                self._open(now)
            else:
                self.state, self.probe_out = CLOSED, False
                self.outcomes.clear()
            return
        if self.state == OPEN:  # a call sent before it opened came back: no news
            return
        self.outcomes.append((now, failed))
        horizon = now - self.breaker.window_s
        while self.outcomes and self.outcomes[0][0] <= horizon:
            self.outcomes.popleft()
        failures = sum(1 for _, bad in self.outcomes if bad)
        if (len(self.outcomes) >= self.breaker.min_calls
                and failures >= self.breaker.failure_ratio * len(self.outcomes)):
            self._open(now)

    def _open(self, now: float) -> None:
        self.state, self.opened_at, self.probe_out = OPEN, now, False
        self.outcomes.clear()
        self.opened += 1
