"""ChaosMiddleware: wraps any WSGI app and lets the decider break its requests.

Installed as `app.wsgi_app = ChaosMiddleware(app.wsgi_app, store, identify)`.
Paths under `exempt_prefixes` (the host names its health, metrics and admin paths;
chaos's own /admin/chaos always is) are never touched, so a broken app can always be
repaired and observed. The path is compared the way
werkzeug's router resolves it: runs of slashes collapse (`//health` is /health)
and a prefix covers whole segments (`/admin/x` is exempt, `/administrator` is not).
Rule path globs see the same normalised path, decoded as the router decodes it: WSGI
hands PATH_INFO over as latin-1, so `/café` arrives as `/cafÃ©`; it is read as UTF-8
(undecodable bytes become U+FFFD), so a non-ASCII glob matches the path it names. With
the kill switch off, a request costs a clock read and an attribute check.

`max_held` caps the requests this process holds in slow faults (latency, timeout, bandwidth)
at once; keep it below the server's threads per process, so that the rest always
serve the exempt paths (see holding.py).

The request is described from the client headers X-App-Version, X-Platform,
X-Device-Id and X-Request-Id, the headers the host lets rules match on
(`store.match_headers`) and X-Banksim-Fault (a caller-chosen fault, see header_faults.py),
and from `identify(environ)`, which the host app supplies to name the user without a
database query (None when unknown). A request carrying X-Banksim-Fault is always looked
at, so that one the decider does not apply (chaos off included) is counted as ignored.
`version_label(app_version)` bounds the app_version label of chaos_injections_total
(the host knows which versions exist; see chaos/metrics.py for the default).
`error_body(status, request_id)` is the body of an injected error answer, in the
host's own error format (a small generic JSON object by default).

For an "after"-phase fault the app runs to completion first: its body is read
and `close()` called, so the host's per-request teardown (and its commit) has
happened before the fault decides what the client gets.
"""
import re
import uuid
from collections.abc import Callable

from .clock import now
from .decisions import MAX_HELD, RequestInfo, Decider
from .faults import BufferedResponse, ErrorBody, Exchange, generic_error_body
from .header_faults import ENVIRON_KEY
from .metrics import VersionLabel, count_header_ignored

ADMIN_PREFIX = "/admin/chaos"  # the admin API's own prefix: never broken by its own rules
REQUEST_ID = re.compile(r"^[\w.:-]{1,128}$")
SLASHES = re.compile(r"/{2,}")
Identify = Callable[[dict], str | None]


def _nobody(_environ) -> None:
    return None


class ChaosMiddleware:
    def __init__(self, app, store, identify: Identify | None = None,
                 exempt_prefixes: tuple[str, ...] = (ADMIN_PREFIX,),
                 refresh_s: float = 0.25, max_held: int = MAX_HELD,
                 version_label: VersionLabel | None = None,
                 error_body: ErrorBody | None = None):
        self.app, self.store = app, store
        self.identify = identify or _nobody
        self.error_body = error_body or generic_error_body
        self.exempt_prefixes = path_prefixes(exempt_prefixes)
        self.decider = Decider(store, refresh_s, max_held, version_label)

    def __call__(self, environ, start_response):
        rules = self.decider.current()
        asked = ENVIRON_KEY in environ
        if not asked and (not rules.enabled or not rules.rules):
            return self.app(environ, start_response)
        path = router_path(environ)
        if self.exempt(path):
            if asked:
                count_header_ignored("exempt_path")
            return self.app(environ, start_response)
        request = self.describe(environ, path)
        decision = self.decider.decide(request, rules)
        if decision is None:
            return self.app(environ, start_response)
        environ["chaos.rule_id"] = decision.rule_id
        response = run_to_completion(self.app, environ) if decision.phase == "after" else None
        sent_id = request.request_id or ""
        exchange = Exchange(environ, start_response, self.app, decision.rule_id,
                            sent_id if REQUEST_ID.match(sent_id) else uuid.uuid4().hex,
                            decision.rng, response,
                            hold=lambda seconds: self.decider.hold(decision.rule_id, seconds),
                            span=lambda seconds: self.decider.span(decision.rule_id, seconds),
                            error_body=self.error_body)
        return decision.fault.inject(exchange)

    def exempt(self, path: str) -> bool:
        """Whether `path` (normalised) is one of the exempt prefixes or below one."""
        return covers(self.exempt_prefixes, path)

    def describe(self, environ, path: str | None = None) -> RequestInfo:
        return RequestInfo(method=environ.get("REQUEST_METHOD", "GET").upper(),
                           path=path or router_path(environ),
                           app_version=environ.get("HTTP_X_APP_VERSION") or None,
                           platform=environ.get("HTTP_X_PLATFORM") or None,
                           user_id=self.identify(environ),
                           device_id=environ.get("HTTP_X_DEVICE_ID") or None,
                           request_id=environ.get("HTTP_X_REQUEST_ID") or None,
                           now=now(), headers=self.match_headers(environ),
                           asked=environ.get(ENVIRON_KEY))

    def match_headers(self, environ) -> dict[str, str]:
        """The request's headers that rules may match on (the host's list), lower-cased."""
        found = {}
        for name in self.store.match_headers:
            value = environ.get("HTTP_" + name.upper().replace("-", "_"))
            if value is not None:
                found[name] = value
        return found


def router_path(environ) -> str:
    """PATH_INFO as werkzeug's router sees it: UTF-8 from WSGI's latin-1, slashes merged."""
    path = environ.get("PATH_INFO", "")
    try:
        path = path.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a server that already decoded it
        pass
    return normal_path(path)


def normal_path(path: str) -> str:
    """The path as werkzeug's router matches it: runs of slashes merged (merge_slashes)."""
    return SLASHES.sub("/", path) or "/"


def path_prefixes(prefixes) -> tuple[str, ...]:
    """Prefixes as `covers` compares them: slashes merged, no trailing slash."""
    return tuple(normal_path(prefix).rstrip("/") for prefix in prefixes)


def covers(prefixes: tuple[str, ...], path: str) -> bool:
    """Whether `path` (normalised) is one of `prefixes` (from path_prefixes) or below one,
    by whole segments. The host's server uses this too, to know the exempt paths first."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in prefixes)


def run_to_completion(app, environ) -> BufferedResponse:
    """Call the app, read its whole body and close it; return what it answered."""
    answer: dict = {}
    chunks: list[bytes] = []

    def start_response(status, headers, exc_info=None):
        if exc_info and answer:
            raise exc_info[1].with_traceback(exc_info[2])
        answer["status"], answer["headers"] = status, list(headers)
        return chunks.append

    result = app(environ, start_response)
    try:
        chunks.extend(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return BufferedResponse(answer["status"], answer["headers"], b"".join(chunks))
