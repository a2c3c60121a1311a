"""Journey success per app version, live, from Locust's own request statistics.

Every journey is reported to Locust as a request of type JOURNEY named
"<journey> <app version>" (see locustfile.py), so the runner's statistics (on a
distributed master: the sum over all workers) already count attempts and failures
per journey and version, in total and per second. This module turns them into the
rows of the web UI's journey tabs (loadtests/phone/webui.py). It does not import Locust: anything
with the fields of `StatsRow` will do, and a Locust `StatsEntry` has them all.

The total success rate of a version barely moves late in a run, so each row also
has the success over the last `window_s` seconds: that is the figure that drops
when a bad release ships and comes back when the hotfix spreads. On a master the
newest seconds are incomplete (workers report every 3 s), which makes the recent
figures noisier, not wrong.
"""
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

from loadtests.report.events import version_key


JOURNEY = "JOURNEY"
RECENT_WINDOW_S = 15  # the incident detector's long window in a 3-minute run
_NOTHING: Mapping[int, int] = MappingProxyType({})


class StatsRow(NamedTuple):
    """What is read of one Locust stats entry; per-second counts are keyed by epoch second."""

    method: str
    name: str
    num_requests: int
    num_failures: int
    num_reqs_per_sec: Mapping[int, int] = _NOTHING
    num_fail_per_sec: Mapping[int, int] = _NOTHING


@dataclass
class _Tally:
    journeys: int = 0
    failed: int = 0
    recent_journeys: int = 0
    recent_failed: int = 0

    def add(self, entry, seconds: range) -> None:
        self.journeys += entry.num_requests
        self.failed += entry.num_failures
        self.recent_journeys += sum(entry.num_reqs_per_sec.get(t, 0) for t in seconds)
        self.recent_failed += sum(entry.num_fail_per_sec.get(t, 0) for t in seconds)

    def as_row(self) -> dict:
        return {"journeys": self.journeys, "failed": self.failed,
                "success_pct": _percent(self.journeys - self.failed, self.journeys),
                "recent_journeys": self.recent_journeys,
                "recent_success_pct": _percent(self.recent_journeys - self.recent_failed,
                                               self.recent_journeys)}


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def board(entries: Iterable, *, now: float, window_s: int = RECENT_WINDOW_S) -> dict:
    """The tab's data: one row per app version, one per (app version, journey).

    Rows hold journeys, failed, success_pct (None when there is nothing to divide)
    and the same over the last `window_s` seconds before `now` (recent_journeys,
    recent_success_pct). Entries that are not journeys, or have no requests, are left out.
    """
    seconds = range(int(now) - window_s + 1, int(now) + 1)
    versions: dict[str, _Tally] = {}
    journeys: dict[tuple[str, str], _Tally] = {}
    for entry in entries:
        if entry.method != JOURNEY or not entry.num_requests or " " not in entry.name:
            continue
        journey, version = entry.name.rsplit(" ", 1)
        versions.setdefault(version, _Tally()).add(entry, seconds)
        journeys.setdefault((version, journey), _Tally()).add(entry, seconds)
    by_version = sorted(versions, key=version_key)
    by_journey = sorted(journeys, key=lambda key: (version_key(key[0]), key[1]))
    return {"window_s": window_s,
            "versions": [{"app_version": v, **versions[v].as_row()} for v in by_version],
            "journeys": [{"app_version": v, "journey": j, **journeys[v, j].as_row()}
                         for v, j in by_journey]}
