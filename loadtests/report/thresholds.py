"""Pass/fail thresholds given on the command line, e.g. for CI.

Grammar (spaces around the parts are allowed; quote the whole thing in a shell):

    threshold := METRIC [ "[" filter { "," filter } "]" ] OP NUMBER
    filter    := KEY "=" PATTERN { "|" PATTERN }  |  "window=" SECONDS ( "s" | "m" )
    KEY       := app_version | phase | journey | platform
    OP        := "<" | "<=" | ">" | ">=" | "=="
    NUMBER    := a decimal number such as 0.99, 2500, 1e3 (rates are fractions, not %)

PATTERN is a shell-style glob (`*`, `?`, `[...]`; case-sensitive) on the journey event's
field; alternatives are separated by `|`. A journey counts when every filter matches.

`window=30s` (journey metrics only) judges the metric over every window of that length
instead of the whole run, and the threshold takes the WORST window's value (the lowest
success rate, the highest p95): a run that was fine on average but fell over for half a
minute fails. `loadtests.report.windows` says which windows count.

Journey metrics (computed from the journeys that match the filter):
    success_rate, error_rate, p50_ms, p95_ms, p99_ms, retries_per_journey,
    requests_per_journey, journeys, failed_journeys

Run metrics (no filter allowed): every field of the report's `incident` block
(time_to_detect_s, time_to_recover_s, users_affected, users_affected_pct, ...) and of its
`integrity` block (lost_acknowledged_transfers, duplicate_transfers, ledger_balanced, ...;
booleans count as 1 for true and 0 for false).

Alert metric (a run with `--prometheus`): `alert[NAME]` is the seconds from the incident's
start until the Prometheus alert NAME was firing (report.json's `alerts`); the limit may
end in `s`. An alert that never fired from the incident's start on has no value: FAIL.

Examples:

    alert[BankVersionErrorBudgetBurn]<=60s
    success_rate[app_version=4.1.*,phase=incident]>=0.99
    p95_ms[journey=send_money]<2500
    time_to_detect_s<=30
    lost_acknowledged_transfers==0

A threshold with nothing to measure FAILS (value None): a filter that matches no journey,
or `time_to_detect_s` when the detector never fired. A CI gate should not pass on silence.
"""
import math
import operator
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase

from .aggregate import percentile
from .events import JourneyEvent
from . import windows
from .windows import parse_window

OPERATORS = {"<=": operator.le, ">=": operator.ge, "==": None, "<": operator.lt,
             ">": operator.gt}
FILTER_KEYS = ("app_version", "phase", "journey", "platform")
JOURNEY_METRICS = ("success_rate", "error_rate", "p50_ms", "p95_ms", "p99_ms",
                   "retries_per_journey", "requests_per_journey", "journeys", "failed_journeys")
INCIDENT_METRICS = ("detected_at_s", "time_to_detect_s", "recovered_at_s", "time_to_recover_s",
                    "users_affected", "users_affected_pct", "users_slowed")
# The integrity block of report.json, plus the extra counters `loadtests.run.reconcile` adds.
INTEGRITY_METRICS = ("ok", "ledger_balanced", "negative_balances", "duplicate_transfers",
                     "lost_acknowledged_transfers", "mismatched_acknowledged_transfers",
                     "acknowledged_transfers",
                     "unknown_outcome_transfers", "unknown_outcome_applied")

_ALERT = re.compile(r"""^\s*alert\s*\[\s*(?P<name>[A-Za-z_:][A-Za-z0-9_:]*)\s*\]\s*
                        (?P<op><=|>=|==|<|>)\s*(?P<number>[0-9]+(?:\.[0-9]+)?)\s*s?\s*$""",
                    re.VERBOSE)
_EXPRESSION = re.compile(r"""^\s*(?P<metric>[A-Za-z_][A-Za-z0-9_]*)\s*
                             (?:\[(?P<filters>[^\]]*)\])?\s*
                             (?P<op><=|>=|==|<|>)\s*
                             (?P<number>[^\s<>=\[\]]+)\s*$""", re.VERBOSE)


@dataclass(frozen=True)
class Threshold:
    text: str
    metric: str
    filters: tuple[tuple[str, tuple[str, ...]], ...]
    op: str
    limit: float
    window_s: float | None = None  # `[window=30s]`: judged on the worst window of the run

    @property
    def limit_text(self) -> str:
        return f"{self.op} {self.limit:g}"

    def matches(self, event: JourneyEvent) -> bool:
        return all(any(fnmatchcase(getattr(event, key), pattern) for pattern in patterns)
                   for key, patterns in self.filters)

    def check(self, value: float | None) -> bool:
        if value is None:
            return False
        if self.op == "==":
            return math.isclose(value, self.limit, rel_tol=1e-9, abs_tol=1e-12)
        return OPERATORS[self.op](value, self.limit)


def parse_threshold(text: str, run_metrics: tuple[str, ...] | None = None) -> Threshold:
    """Parse one expression; ValueError with the reason when it is not valid.

    `run_metrics` are the names allowed without a filter besides the journey metrics;
    by default the incident and integrity fields listed in the module docstring.
    """
    known = run_metrics if run_metrics is not None else INCIDENT_METRICS + INTEGRITY_METRICS
    if re.match(r"\s*alert\s*\[", text or ""):  # a run metric named by the alert
        alert = _ALERT.match(text)                # (`alert_values` in report/alerts.py)
        if not alert or not math.isfinite(float(alert["number"])):
            raise ValueError(f"threshold {text!r} is not alert[NAME]OP SECONDS, e.g. "
                             f"'alert[BankVersionErrorBudgetBurn]<=60s'")
        return Threshold(text.strip(), f"alert[{alert['name']}]", (), alert["op"],
                         float(alert["number"]))
    match = _EXPRESSION.match(text or "")
    if not match:
        raise ValueError(f"threshold {text!r} is not METRIC[key=glob,...]OP NUMBER, "
                         f"e.g. 'success_rate[app_version=4.2.*]>=0.99'")
    metric, op = match["metric"], match["op"]
    if metric not in JOURNEY_METRICS and metric not in known:
        others = f"; run metrics: {', '.join(known)}" if known else ""
        raise ValueError(f"threshold {text!r}: unknown metric {metric!r}; journey metrics: "
                         f"{', '.join(JOURNEY_METRICS)}{others}")
    try:
        limit = float(match["number"])
    except ValueError:
        raise ValueError(f"threshold {text!r}: {match['number']!r} is not a number") from None
    if not math.isfinite(limit):
        raise ValueError(f"threshold {text!r}: the limit must be a finite number")
    filters, window_s = _parse_filters(text, match["filters"])
    if (filters or window_s is not None) and metric not in JOURNEY_METRICS:
        raise ValueError(f"threshold {text!r}: {metric} is a run metric and takes no filter")
    return Threshold(text.strip(), metric, filters, op, limit, window_s)


def _parse_filters(text: str, body: str | None) -> tuple[tuple, float | None]:
    """The journey filters, and the window's seconds (None: the whole run)."""
    if body is None:
        return (), None
    filters, window_s = [], None
    for part in body.split(","):
        key, sep, value = (s.strip() for s in part.partition("="))
        if not sep or not key or not value:
            raise ValueError(f"threshold {text!r}: filter {part.strip()!r} is not key=glob")
        if key == "window":
            if window_s is not None:
                raise ValueError(f"threshold {text!r}: 'window' is given twice")
            try:
                window_s = parse_window(value)
            except ValueError as exc:
                raise ValueError(f"threshold {text!r}: window {value!r}: {exc}") from None
            continue
        if key not in FILTER_KEYS:
            raise ValueError(f"threshold {text!r}: cannot filter on {key!r}; "
                             f"keys: {', '.join(FILTER_KEYS)}")
        if any(k == key for k, _ in filters):
            raise ValueError(f"threshold {text!r}: {key!r} is filtered twice; use a|b")
        patterns = tuple(p.strip() for p in value.split("|"))
        if not all(patterns):
            raise ValueError(f"threshold {text!r}: empty pattern in {part.strip()!r}")
        filters.append((key, patterns))
    return tuple(filters), window_s


def journey_metric(metric: str, events: list[JourneyEvent]) -> float | None:
    """A journey metric over `events`; None when there are none to measure."""
    if not events:
        return None
    n = len(events)
    failed = sum(not e.ok for e in events)
    if metric.startswith("p") and metric.endswith("_ms"):
        return percentile([e.duration_ms for e in events], int(metric[1:-3]))
    return {"success_rate": (n - failed) / n, "error_rate": failed / n,
            "retries_per_journey": sum(e.retries for e in events) / n,
            "requests_per_journey": sum(e.requests for e in events) / n,
            "journeys": float(n), "failed_journeys": float(failed)}[metric]


def worst_window(threshold: Threshold, events: list[JourneyEvent],
                 end_s: float | None) -> float | None:
    """A windowed threshold's value: its metric in the worst window of the run (None when
    the run is shorter than one window, or no window holds enough journeys)."""
    matching = [e for e in events if threshold.matches(e)]
    end = end_s if end_s is not None else max([0.0, *(e.finished_s for e in matching)])
    values = [_in_window(threshold.metric, inside) for inside in
              windows.windows(matching, threshold.window_s, end, threshold.metric)]
    return windows.worst(values, threshold.op, threshold.limit)


def _in_window(metric: str, events: list[JourneyEvent]) -> float | None:
    """A metric over one window: an empty one counts 0 journeys (and has no rate)."""
    return journey_metric(metric, events) if events else (
        0.0 if metric in windows.COUNTS else None)


def value_now(threshold: Threshold, events: list[JourneyEvent], now_s: float) -> float | None:
    """A windowed threshold's metric over the window ending at `now_s` (a guardrail's
    view, live); None when that window is too thin to judge."""
    inside = windows.ending_at([e for e in events if threshold.matches(e)],
                               threshold.window_s, now_s, threshold.metric)
    return None if inside is None else _in_window(threshold.metric, inside)


def run_metric(value) -> float | None:
    """A report field as a number: booleans as 1/0, lists by their length, else None."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list | tuple):
        return float(len(value))
    return None


def evaluate(thresholds: list[Threshold], events: list[JourneyEvent],
             scalars: dict, end_s: float | None = None) -> list[dict]:
    """`[{name, limit, value, passed}]`, one per threshold, in the order given.
    `scalars` maps run metric names to report values (incident and integrity fields);
    `end_s`, the run's length, bounds the windows of a windowed threshold."""
    results = []
    for threshold in thresholds:
        if threshold.window_s is not None:
            value = worst_window(threshold, events, end_s)
        elif threshold.metric in JOURNEY_METRICS:
            value = journey_metric(threshold.metric, [e for e in events if threshold.matches(e)])
        else:
            value = run_metric(scalars.get(threshold.metric))
        value = None if value is None else round(value, 6)
        results.append({"name": threshold.text, "limit": threshold.limit_text, "value": value,
                        "passed": threshold.check(value)})
    return results
