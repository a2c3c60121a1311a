"""Prometheus metrics of the chaos layer, with labels bounded whatever clients send.

`chaos_injections_total{rule, fault, phase, app_version}` goes up once per fault the
decider injects, in whichever process injected it; under gunicorn prometheus_client's
multiprocess mode (PROMETHEUS_MULTIPROC_DIR) sums the workers. `phase` says whether the
app saw the request (`after`) or not (`before`), so a host can count the requests it
never answered itself. `chaos_active_rules` is the number of rules in force (0 while the
kill switch is off), set by each process when it reloads the rules: the most recent
value wins across processes, so an alert can say chaos was left on, and a dashboard
can mark when the rules changed (`chaos_rules_revision`). The metrics are created on
first use, never at import: prometheus_client fixes multiprocess mode when it is first
imported, and the host must get to choose the directory before that.

`chaos_header_faults_ignored_total{reason}` counts X-Banksim-Fault headers that were
ignored (the setting off, the caller not allowed, a value out of bounds...).

Labels stay bounded: rule ids come from the admin API (and `header`, for caller-chosen
faults), faults are the registered types, reasons are header_faults.REASONS.
The app version label comes from a function the host hands the middleware (a bank
knows its releases; chaos does not); without one, `GenericVersionLabel` keeps the
first few plausible release numbers it sees and folds everything else into "other".
"""
import re
import threading
from collections.abc import Callable

VERSION = re.compile(r"^\d{1,3}\.\d{1,3}(\.\d{1,4})?([ab]|rc|\.post|\.dev)?\d{0,3}$")
MAX_GENERIC_VERSIONS = 32

VersionLabel = Callable[[str | None], str]

_counter = None
_gauges = None
_ignored = None
_counter_lock = threading.Lock()


class GenericVersionLabel:
    """A host-agnostic bound: release-shaped values, the first `cap` distinct ones seen."""

    def __init__(self, cap: int = MAX_GENERIC_VERSIONS):
        self.cap, self.seen = cap, set()

    def __call__(self, value: str | None) -> str:
        if value in self.seen:
            return value
        if not value or len(self.seen) >= self.cap or not VERSION.match(value):
            return "other"
        self.seen.add(value)
        return value


def injections():
    """The counter, created by whichever thread counts the first fault."""
    global _counter
    if _counter is None:
        with _counter_lock:
            if _counter is None:
                from prometheus_client import Counter
                _counter = Counter("chaos_injections_total",
                                   "Faults injected by the chaos layer",
                                   ("rule", "fault", "phase", "app_version"))
    return _counter


def count_injection(rule_id: str, fault: str, phase: str, app_version_label: str) -> None:
    injections().labels(rule_id, fault, phase, app_version_label).inc()


def rules_gauges():
    """(active rules, revision) gauges, created by the first reload that sets them."""
    global _gauges
    if _gauges is None:
        with _counter_lock:
            if _gauges is None:
                from prometheus_client import Gauge
                _gauges = (Gauge("chaos_active_rules", "Chaos rules in force (0: kill switch off)",
                                 multiprocess_mode="mostrecent"),
                           Gauge("chaos_rules_revision", "Revision of the chaos rules in force",
                                 multiprocess_mode="mostrecent"))
    return _gauges


def record_rules(active: int, revision: int | None) -> None:
    """What a reload found: the rules in force and their revision."""
    active_rules, rules_revision = rules_gauges()
    active_rules.set(active)
    rules_revision.set(revision or 0)


def count_header_ignored(reason: str) -> None:
    """An X-Banksim-Fault header that was ignored, by why (header_faults.REASONS)."""
    global _ignored
    if _ignored is None:
        with _counter_lock:
            if _ignored is None:
                from prometheus_client import Counter
                _ignored = Counter("chaos_header_faults_ignored_total",
                                   "X-Banksim-Fault headers ignored, by reason", ("reason",))
    _ignored.labels(reason).inc()
