"""Sliding windows over a run's journeys, for `[window=30s]` thresholds and guardrails.

A journey belongs to a window when it *finished* inside it (start + duration), because
that is the first moment anyone can know how it went: the alert detector counts the
same way, so a threshold's window and the alert agree on what happened when.

After the run, a windowed threshold is judged on its worst window (`worst`): the windows
of that length ending every second (every quarter window, for windows under 4 s) from
the first whole window to the run's end, so none starts before the run or ends after
it. Live, a guardrail looks at the one window ending now (`ending_at`).

A window too thin to judge is skipped: a rate or a percentile over fewer than
`MIN_JOURNEYS` journeys (one failure in two journeys is not "50 % success"; the alert
detector asks for as many). Counts (`journeys`, `failed_journeys`) are judged in every
window: an empty window is exactly what `journeys[window=10s]>=1` is there to catch.
"""
import re
from bisect import bisect_right
from collections.abc import Iterator

from .events import JourneyEvent

MIN_JOURNEYS = 5
COUNTS = ("journeys", "failed_journeys")
MIN_WINDOW_S, MAX_WINDOW_S = 1.0, 86400.0  # a journey takes a second or so: no shorter
_WINDOW = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m)?$")


def parse_window(text: str) -> float:
    """Seconds from "30s", "30" or "2m"; ValueError otherwise."""
    match = _WINDOW.match(text.strip())
    if not match:
        raise ValueError("use seconds, e.g. window=30s (or 2m)")
    seconds = float(match[1]) * (60 if match[2] == "m" else 1)
    if not MIN_WINDOW_S <= seconds <= MAX_WINDOW_S:
        raise ValueError("a window lasts from 1 s to a day")
    return seconds


class Finished:
    """Journeys in the order they finished, for cutting windows quickly."""

    def __init__(self, events: list[JourneyEvent]):
        self.events = sorted(events, key=lambda e: e.finished_s)
        self.times = [e.finished_s for e in self.events]

    def between(self, start_s: float, end_s: float) -> list[JourneyEvent]:
        """The journeys that finished after `start_s` and at or before `end_s`."""
        return self.events[bisect_right(self.times, start_s):bisect_right(self.times, end_s)]


def window_ends(width_s: float, end_s: float) -> list[float]:
    """Where the windows of the module docstring end: none when the run is shorter than one."""
    step = min(1.0, width_s / 4)
    ends, k = [], 0
    while width_s + k * step <= end_s + 1e-9:
        ends.append(round(width_s + k * step, 3))
        k += 1
    if ends and ends[-1] < end_s:
        ends.append(round(end_s, 3))
    return ends


def judged(metric: str, events: list[JourneyEvent]) -> bool:
    """Whether a window holds enough journeys to judge `metric` on (module docstring)."""
    return metric in COUNTS or len(events) >= MIN_JOURNEYS


def windows(events: list[JourneyEvent], width_s: float, end_s: float,
            metric: str) -> Iterator[list[JourneyEvent]]:
    """The journeys of every window worth judging `metric` on, in time order."""
    finished = Finished(events)
    for end in window_ends(width_s, end_s):
        inside = finished.between(end - width_s, end)
        if judged(metric, inside):
            yield inside


def ending_at(events: list[JourneyEvent], width_s: float, now_s: float,
              metric: str) -> list[JourneyEvent] | None:
    """The journeys of the window ending at `now_s`, or None when it is too thin to judge."""
    inside = [e for e in events if now_s - width_s < e.finished_s <= now_s]
    return inside if judged(metric, inside) else None


def worst(values: list[float], op: str, limit: float) -> float | None:
    """The value that meets `op limit` least: the lowest for `>`/`>=`, the highest for
    `<`/`<=`, the farthest from the limit for `==`; None when there is none."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    if op in (">", ">="):
        return min(values)
    if op in ("<", "<="):
        return max(values)
    return max(values, key=lambda v: abs(v - limit))
