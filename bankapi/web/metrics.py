"""Prometheus metrics and the JSON access log (`accesslog.py`), recorded once per request.

Under gunicorn every worker is a separate process, so `banksim serve` points
PROMETHEUS_MULTIPROC_DIR at a fresh directory and /metrics aggregates the files
all workers write (prometheus_client's multiprocess mode). This module must therefore
only be imported by `create_app`, after `serve` has chosen that directory.

Label values are bounded by what the server knows, whatever clients send
(docs/operations.md): the standard methods, its route templates, its platforms and its
published releases (`KnownVersions`); anything else is "other". As a last bound, a
process records at most MAX_SERIES label sets; later new combinations share one
all-"other" set, so /metrics stays under 1 MB.

`banksim_release_published_timestamp_seconds{app_version}` tells when each of those
releases was last published (from the same read), so a dashboard can mark releases on
its graphs and an alert can be read against the release that caused it.
"""
import datetime
import logging
import os
import threading
import time
from functools import partial

from apiflask import APIBlueprint
from flask import Response, current_app, g, request
from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram,
                               generate_latest, multiprocess)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from .. import arrival
from ..accesslog import AccessLog
from ..database.db import db
from ..domain import releases
from ..models import Release
from .openapi import without_database

bp = APIBlueprint("metrics", __name__, tag="Operations")

LABELS = ("method", "route", "status", "app_version", "platform")
# Read off the scenario's SLOs: 250 ms is "fast", 1 s "slow", 5 s the client timeout.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PLATFORMS = frozenset(releases.PLATFORMS)
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
MAX_VERSIONS = 20  # the most recently published releases that may be labels
VERSIONS_REFRESH_S = 2.0
# A label set costs about 2.3 KB of /metrics (a counter and 14 histogram lines), so two
# workers at the cap stay under 1 MB; a normal incident replay uses far fewer.
MAX_SERIES = 200
OVERFLOW = ("other",) * len(LABELS)

REQUESTS = Counter("http_requests_total", "HTTP requests handled by the bank", LABELS)
DURATION = Histogram("http_request_duration_seconds", "Time to answer an HTTP request",
                     LABELS, buckets=BUCKETS)
MONEY = Counter("banksim_money_movements_total", "Money movements by kind and outcome",
                ("kind", "outcome"))
REPLAYS = Counter("banksim_idempotent_replays_total", "Answers replayed for a reused key")


log = logging.getLogger(__name__)

# (labels) -> (counter, histogram): prometheus_client's labels() takes a lock and
# re-validates the values on every call. At most MAX_SERIES + 1 entries.
_children: dict[tuple, tuple] = {}


class KnownVersions:
    """The app versions that may be labels: the MAX_VERSIONS newest published releases.

    Releases are published at runtime (POST /admin/releases, from any worker), so the
    set is re-read every `refresh_s`, by the one request that finds it due, on its own
    connection; every other request is a set lookup. If the read fails the last set is
    kept, so a database outage only delays new versions becoming labels.
    """

    def __init__(self, engine, refresh_s: float = VERSIONS_REFRESH_S, cap: int = MAX_VERSIONS):
        self.engine, self.refresh_s, self.cap = engine, refresh_s, cap
        self.known: frozenset[str] = frozenset()
        self.published: dict[str, float] = {}  # version -> when last published (epoch s)
        self._due = 0.0
        self._lock = threading.Lock()

    def __call__(self, value: str | None) -> str:
        if time.monotonic() >= self._due:
            self.refresh()
        return value if value in self.known else "other"

    def refresh(self) -> None:
        if not self._lock.acquire(blocking=False):
            return  # another thread is reading; the current set is a few seconds old at most
        try:
            self._due = time.monotonic() + self.refresh_s
            last = func.max(Release.released_at)
            newest = (select(Release.version, last).group_by(Release.version)
                      .order_by(last.desc()).limit(self.cap))
            with self.engine.connect() as connection:
                rows = connection.execute(newest).all()
            self.published = {version: _epoch(at) for version, at in rows if at is not None}
            self.known = frozenset(version for version, _ in rows)
        except SQLAlchemyError as exc:
            log.warning("metrics: cannot read releases, keeping %d known versions: %s",
                        len(self.known), exc)
        finally:
            self._lock.release()


def _epoch(moment) -> float:
    """A stored (naive UTC) time as epoch seconds; SQLite may hand back text."""
    if isinstance(moment, str):
        moment = datetime.datetime.fromisoformat(moment)
    return moment.replace(tzinfo=datetime.timezone.utc).timestamp()


class ReleaseCollector:
    """`banksim_release_published_timestamp_seconds`, from this process's KnownVersions."""

    def __init__(self, versions: KnownVersions):
        self.versions = versions

    def collect(self):
        family = GaugeMetricFamily("banksim_release_published_timestamp_seconds",
                                   "When each app version that is a label was last published",
                                   labels=("app_version",))
        for version, at in sorted(self.versions.published.items()):
            family.add_metric((version,), at)
        yield family


def platform_label(value: str | None) -> str:
    value = (value or "").lower()
    return value if value in PLATFORMS else "other"


def method_label(value: str) -> str:
    return value if value in METHODS else "other"


def init_app(app) -> None:
    """Record every request; `app.state.versions` labels app versions, and with
    ACCESS_LOG (set by `serve`) `app.state.access_log` logs it."""
    versions = app.state.versions = KnownVersions(db.engine_of(app))
    access = app.state.access_log = (
        AccessLog() if app.config["ACCESS_LOG"] else None)
    app.before_request(_start_timer)
    app.after_request(partial(_record, versions=versions, access=access))
    app.register_blueprint(bp)


def _start_timer():
    g.queued_s = arrival.queued_s()
    g.started = time.perf_counter()


def _record(response, versions: KnownVersions, access: AccessLog | None):
    """Count and time the request (and log it when the access log is on). Every request
    passes here, so it reads the WSGI environ directly rather than through `request`'s
    header mapping."""
    elapsed = time.perf_counter() - g.get("started", time.perf_counter())
    environ = request.environ
    rule = request.url_rule
    route = rule.rule if rule is not None else "unmatched"
    version = versions(environ.get("HTTP_X_APP_VERSION"))
    platform = platform_label(environ.get("HTTP_X_PLATFORM"))
    status = response.status_code
    labels = (method_label(environ["REQUEST_METHOD"]), route, str(status), version, platform)
    counter, histogram = _children.get(labels) or _series(labels)
    counter.inc()
    histogram.observe(elapsed)
    if access is not None:
        access.add({
            "request_id": g.get("request_id"), "user_id": g.get("user_id"),
            "method": environ["REQUEST_METHOD"], "route": route, "status": status,
            "duration_ms": round(elapsed * 1000, 2), "app_version": version,
            "queued_ms": None if g.get("queued_s") is None else round(g.queued_s * 1000, 2),
            "platform": platform, "chaos_rule": environ.get("chaos.rule_id")})
    return response


def _series(labels: tuple) -> tuple:
    """The counter and histogram children for a new label set, or the overflow set's."""
    if len(_children) >= MAX_SERIES:
        labels = OVERFLOW
    return _children.get(labels) or _children.setdefault(
        labels, (REQUESTS.labels(*labels), DURATION.labels(*labels)))


@bp.get("/metrics")
@without_database
@bp.doc(responses={200: {"description": "Prometheus text format"}})
def metrics():
    """Prometheus metrics, summed over every server process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY as registry
    releases = CollectorRegistry(auto_describe=False)
    releases.register(ReleaseCollector(current_app.state.versions))
    return Response(generate_latest(registry) + generate_latest(releases),
                    mimetype=CONTENT_TYPE_LATEST)
