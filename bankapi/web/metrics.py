"""Prometheus metrics and the JSON access log, recorded once per request.

Under gunicorn every worker is a separate process, so `banksim serve` points
PROMETHEUS_MULTIPROC_DIR at a fresh directory and /metrics aggregates the files
all workers write (prometheus_client's multiprocess mode). Label values are
bounded: an app version that is not a plausible PEP 440 version and an unknown
platform fold into "other", and paths are reported as their route template.
"""
import json
import logging
import os
import time

from apiflask import APIBlueprint
from flask import Response, g, request
from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram,
                               generate_latest, multiprocess)

from chaos.metrics import app_version_label

bp = APIBlueprint("metrics", __name__, tag="Operations")
access_log = logging.getLogger("banksim.access")

LABELS = ("method", "route", "status", "app_version", "platform")
# Read off the scenario's SLOs: 250 ms is "fast", 1 s "slow", 5 s the client timeout.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PLATFORMS = {"ios", "android", "web"}

REQUESTS = Counter("http_requests_total", "HTTP requests handled by the bank", LABELS)
DURATION = Histogram("http_request_duration_seconds", "Time to answer an HTTP request",
                     LABELS, buckets=BUCKETS)
MONEY = Counter("banksim_money_movements_total", "Money movements by kind and outcome",
                ("kind", "outcome"))
REPLAYS = Counter("banksim_idempotent_replays_total", "Answers replayed for a reused key")


# (labels) -> (counter, histogram): prometheus_client's labels() takes a lock and
# re-validates the values on every call; the label set is bounded, so is this dict.
_children: dict[tuple, tuple] = {}


def platform_label(value: str | None) -> str:
    value = (value or "").lower()
    return value if value in PLATFORMS else "other"


def init_app(app) -> None:
    app.before_request(_start_timer)
    app.after_request(_record)
    app.register_blueprint(bp)


def _start_timer():
    g.started = time.perf_counter()


def _record(response):
    elapsed = time.perf_counter() - g.get("started", time.perf_counter())
    route = request.url_rule.rule if request.url_rule else "unmatched"
    version = app_version_label(request.headers.get("X-App-Version"))
    platform = platform_label(request.headers.get("X-Platform"))
    labels = (request.method, route, str(response.status_code), version, platform)
    counter, histogram = _children.get(labels) or _children.setdefault(
        labels, (REQUESTS.labels(*labels), DURATION.labels(*labels)))
    counter.inc()
    histogram.observe(elapsed)
    if not access_log.isEnabledFor(logging.INFO):
        return response
    access_log.info(json.dumps({
        "request_id": g.get("request_id"), "user_id": g.get("user_id"),
        "method": request.method, "route": route, "status": response.status_code,
        "duration_ms": round(elapsed * 1000, 2), "app_version": version,
        "platform": platform, "chaos_rule": request.environ.get("chaos.rule_id")}))
    return response


@bp.get("/metrics")
@bp.doc(responses={200: {"description": "Prometheus text format"}})
def metrics():
    """Prometheus metrics, summed over every server process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY as registry
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
