"""A phone's HTTP connection on Locust's FastHttpUser (geventhttpclient), made to behave
like the `requests` session the mobile users had before, for `mobile.MobileClient`.

FastHttpUser costs a fraction of HttpUser's CPU per request (benchmarks/README.md, R5),
but geventhttpclient differs from requests where the mobile client's judgement depends
on it. `PhoneTransport` closes each gap:

- One try per request. geventhttpclient silently resends a GET or PUT (up to the pool's
  size + 1 times) when the connection is closed or reset after the request was sent; a
  chaos `reset` or `timeout` fault would never reach the client. Here a request gets one
  connection: a connection that dies after sending is "no answer", and the client's
  retry policy decides (as with requests, whose urllib3 has no retries by default). An
  idle keep-alive connection the server closed is still replaced before sending (both
  libraries check for that), so keep-alive reuse stays invisible.
- Timeouts: `connect` and `read` are the pool's connection and network (per read)
  timeouts, as requests' `(connect, read)`; they are fixed when the phone is built, so
  `request(timeout=...)` must name the same value (otherwise geventhttpclient would send
  it as a query parameter).
- Every status is an answer: geventhttpclient's status check drops the connection before
  a 4xx/5xx body that did not arrive with the headers is read; the body of a 422 or a
  503 matters to the client.
- No answer looks the same: status 0, `error` an exception of requests' class for the
  same event (ConnectionError, ConnectTimeout, ReadTimeout, ChunkedEncodingError), so the
  client's "no answer (ReadTimeout)" and the report's error groups read as before.
- Headers as requests' case-insensitive dict, repeated fields joined with ", ".
- What went wrong on the wire, in `response.outcome` (OUTCOMES), for journeys.jsonl: a
  read timeout or a close after the headers (timeout_mid_body, truncated_body: a slow or
  cut link), or no byte of an answer at all (timeout_before_answer; reset_before_answer:
  the connection reset or closed, as when the phone is offline; connect_failed).
  geventhttpclient resends after a reset, and by the time `OneTryHTTPClient` refuses the
  resend the reset itself is gone, so a reset and a close before any byte are one kind.
"""
import socket

import gevent
from geventhttpclient.client import HTTPClient, HTTPClientPool
from geventhttpclient.response import HTTPConnectionClosed
from geventhttpclient.useragent import RetriesExceeded
from geventhttpclient.url import URL
from locust.contrib.fasthttp import FastHttpSession
from requests import exceptions as rex
from requests.structures import CaseInsensitiveDict

EVERY_STATUS = frozenset(range(100, 600))
TIMEOUTS = (socket.timeout, gevent.Timeout)
OUTCOMES = ("timeout_mid_body", "truncated_body", "timeout_before_answer",
            "reset_before_answer", "connect_failed")


class ConnectFailed(OSError):
    """No connection to the bank (refused, unreachable, timed out); errno None, so neither
    geventhttpclient's user agent retries it nor Locust mistakes it for a response."""

    def __init__(self, cause: BaseException):
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.timed_out = isinstance(cause, TIMEOUTS)


class OneTryHTTPClient(HTTPClient):
    """geventhttpclient's client, sending each request over one connection only."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self._taken = False
        pool = self._connection_pool
        take = pool.get_socket

        def get_socket():
            if self._taken:  # the client would resend: the connection died after sending
                raise HTTPConnectionClosed("connection closed without an answer")
            self._taken = True
            try:
                return take()
            except (OSError, *TIMEOUTS) as exc:
                raise ConnectFailed(exc) from exc
        pool.get_socket = get_socket

    def request(self, *args, **kw):
        self._taken = False
        return super().request(*args, **kw)


class OneTryClientPool(HTTPClientPool):
    """geventhttpclient's pool of clients (one per host), of `OneTryHTTPClient`s."""

    def get_client(self, url):
        url = url if isinstance(url, URL) else URL(url)
        client = self.clients.get((url.host, url.port))
        if client is None:
            client = self.clients[url.host, url.port] = OneTryHTTPClient.from_url(
                url, **self.client_args)
        return client


class PhoneTransport(FastHttpSession):
    """FastHttpSession with requests' behaviour where the mobile client depends on it."""

    def __init__(self, user, timeout_s: float):
        self.timeout_s = timeout_s
        pool = OneTryClientPool(connection_timeout=timeout_s, network_timeout=timeout_s,
                                concurrency=1, insecure=True)
        super().__init__(base_url=user.host, request_event=user.environment.events.request,
                         user=user, client_pool=pool, max_retries=0, max_redirects=30)
        self.client.valid_response_codes = EVERY_STATUS

    def request(self, method, url, timeout=None, **kw):
        if timeout is not None and tuple(timeout) != (self.timeout_s, self.timeout_s):
            raise ValueError(f"this phone's timeouts are {self.timeout_s} s, not {timeout}")
        response = super().request(method, url, **kw)
        failed = response.request_meta["exception"]
        if failed is not None or getattr(response, "error", None) is not None:
            _no_answer(response, failed or response.error)
        elif response.headers is not None:
            response.headers = CaseInsensitiveDict(response.headers.itermerged())
        return response


def _no_answer(response, error) -> None:
    """Make a response whose exchange failed look like requests' failed one."""
    headers_came = response.status_code != 0  # and then the body did not
    response._response, response.headers, response._cached_content = None, None, None
    response.error = response.request_meta["exception"] = _as_requests_error(error, headers_came)
    response.outcome = outcome_of(error, headers_came)


def outcome_of(error: BaseException, headers_came: bool) -> str:
    """Which of OUTCOMES a failed exchange was."""
    if isinstance(error, ConnectFailed):
        return "connect_failed"
    timed_out = any(isinstance(cause, TIMEOUTS) for cause in _chain(error))
    if headers_came:
        return "timeout_mid_body" if timed_out else "truncated_body"
    return "timeout_before_answer" if timed_out else "reset_before_answer"


def _chain(error: BaseException):
    """The error, what it wraps (geventhttpclient's `original`) and its causes."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        original = getattr(error, "original", None)
        error = original if isinstance(original, BaseException) else (
            error.__cause__ or error.__context__)


def _as_requests_error(error: BaseException, headers_came: bool) -> BaseException:
    if isinstance(error, ConnectFailed):
        return rex.ConnectTimeout(error) if error.timed_out else rex.ConnectionError(error)
    cause = getattr(error, "original", None) if isinstance(error, RetriesExceeded) else error
    if headers_came:  # what requests raises from a broken body: see Response.iter_content
        return rex.ConnectionError(error) if isinstance(cause, TIMEOUTS) else \
            rex.ChunkedEncodingError(error)
    if isinstance(cause, TIMEOUTS):
        return rex.ReadTimeout(error)
    return rex.ConnectionError(error)


__all__ = ["OUTCOMES", "OneTryClientPool", "PhoneTransport", "outcome_of"]
