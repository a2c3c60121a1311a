"""The one interface every fault implements, and the request it acts on.

A fault is small and dumb on purpose (like a toxiproxy toxic): it holds its
settings, validated once when the rule is saved, and acts on one `Exchange`.
Whether a request is hit at all (matching, cohorts, probability, bursts) is
decided by the decider before a fault ever sees it, and the decider hands
the fault any randomness it needs (`exchange.rng`), so faults stay reproducible.
"""
import json
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import ClassVar

from marshmallow import RAISE, Schema, ValidationError

StartResponse = Callable[..., Callable[[bytes], object]]
# (status, request id) -> the body of an error answer, in the host app's own format
ErrorBody = Callable[[int, str], bytes]


def generic_error_body(status: int, request_id: str) -> bytes:
    """The error body when the host gives none: JSON that names no app's conventions."""
    return json.dumps({"error": "injected failure (chaos)", "status": status,
                       "request_id": request_id}).encode()


class FaultSettingsError(ValueError):
    """A fault's settings are invalid; `field` names the bad setting."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


class BufferedResponse:
    """The wrapped app's complete answer, held back for an "after"-phase fault."""

    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes):
        self.status, self.headers, self.body = status, headers, body


class Exchange:
    """One request passing through a fault: the WSGI call plus the engine's verdict.

    In the "before" phase `response` is None and `forward()` calls the wrapped app;
    in the "after" phase the app has already run to completion (its database work
    is committed) and `forward()` replays the buffered answer.

    `hold(seconds)` is how a slow fault waits: the decider's, which caps how many
    requests a process holds and ends the wait early when the rule stops applying
    (returning False); a plain sleep when no engine is involved (unit tests).
    `span(seconds)` is the same for a fault that waits many times, `seconds` in all:
    a context manager giving a `wait(seconds) -> bool`, or None when no slot was free.
    `wait_budget_s`: the longest a fault here may wait in all (a fault in a header's chain
    sees what the earlier items left of the chain's budget).
    """

    wait_budget_s = 60.0  # one latency fault's cap

    def __init__(self, environ: dict, start_response: StartResponse, app, rule_id: str,
                 request_id: str, rng: random.Random, response: BufferedResponse | None = None,
                 hold: Callable[[float], bool] | None = None,
                 error_body: ErrorBody | None = None, span=None):
        self.environ, self.start_response, self.app = environ, start_response, app
        self.rule_id, self.request_id, self.rng = rule_id, request_id, rng
        self.response = response
        self.hold = hold or _sleep
        self.span = span or _sleeping_span
        self._error_body = error_body or generic_error_body

    def error_body(self, status: int) -> bytes:
        """The host app's error body for `status` (`error_body` given to the middleware)."""
        return self._error_body(status, self.request_id)

    def mark(self, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Add X-Chaos-Rule, and X-Request-Id unless the app already set one."""
        marked = [(k, v) for k, v in headers if k.lower() != "x-chaos-rule"]
        marked.append(("X-Chaos-Rule", self.rule_id))
        if not any(k.lower() == "x-request-id" for k, _ in marked):
            marked.append(("X-Request-Id", self.request_id))
        return marked

    def forward(self) -> Iterable[bytes]:
        """Deliver the real answer (marked as touched by chaos)."""
        if self.response is not None:
            self.start_response(self.response.status, self.mark(self.response.headers))
            return [self.response.body]

        def start_marked(status, headers, exc_info=None):
            return self.start_response(status, self.mark(headers), exc_info)
        return self.app(self.environ, start_marked)

    def reply(self, status: str, body: bytes, content_type: str = "application/json",
              headers: list[tuple[str, str]] = ()) -> Iterable[bytes]:
        """Answer with a body of the fault's making instead of the app's."""
        self.start_response(status, self.mark([("Content-Type", content_type),
                                               ("Content-Length", str(len(body))),
                                               *headers]))
        return [body]


class Fault(ABC):
    """A kind of failure. Subclasses set `type`, a `Settings` schema and `inject`."""

    type: ClassVar[str]
    Settings: ClassVar[type[Schema]]

    @classmethod
    def from_settings(cls, settings: dict) -> "Fault":
        """Validate a rule's fault settings (everything but "type") and build the fault."""
        try:
            loaded = cls.Settings(unknown=RAISE).load(settings)
        except ValidationError as exc:
            field, message = first_error(exc.messages)
            raise FaultSettingsError(field, message) from None
        return cls(**loaded)

    @abstractmethod
    def inject(self, exchange: Exchange) -> Iterable[bytes]:
        """Act on the request: return a WSGI body, or raise to drop the connection."""


def _sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return True


@contextmanager
def _sleeping_span(_seconds: float) -> Iterator[Callable[[float], bool]]:
    yield lambda seconds: _sleep(max(seconds, 0.0))  # a wait already due is no wait


def first_error(messages, prefix: str = "") -> tuple[str, str]:
    """Flatten marshmallow's nested error dict to its first (dotted field, message)."""
    if isinstance(messages, dict):
        for name, value in messages.items():
            if name == "_schema":
                return first_error(value, prefix)
            if isinstance(name, int):  # an item of a list: name the list itself
                return first_error(value, prefix)
            return first_error(value, f"{prefix}{name}.")
    if isinstance(messages, list) and messages:
        return first_error(messages[0], prefix)
    return prefix.rstrip(".") or "body", str(messages)
