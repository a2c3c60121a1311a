"""Journey events as the report reads them: one typed record per journey a user finished.

The load generator writes them as JSON Lines (`loadtests.phone.journal` documents the
shape). Everything in the report is computed from these records and the run's
phases; nothing here talks to the bank or imports Locust.
"""
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

from loadtests.phone.journal import JOURNEY_KEYS, PHASES, POLICY_KEYS
from loadtests.phone.journeys import JOURNEY_NAMES as JOURNEYS

OPTIONAL = ("error", "network", "failure")  # older runs wrote no network or failure


@dataclass(frozen=True)
class JourneyEvent:
    """One journey: when it started (`t_s`, seconds since the run started), who ran it on
    which app, whether it succeeded after the client's retries, and what it cost."""

    t_s: float
    user: str
    journey: str
    app_version: str
    platform: str
    phase: str
    ok: bool
    duration_ms: float
    retries: int
    requests: int
    error: str | None = None
    network: str | None = None   # "wifi" or "cellular"; None in files of older runs
    failure: str | None = None   # how it failed (journal.FAILURES); None when it did not
    wait_s: float = 0.0
    fast_failed: int = 0
    budget_denied: int = 0
    breaker_opened: int = 0

    @property
    def finished_s(self) -> float:
        """When the journey ended: the earliest moment monitoring can see its outcome."""
        return self.t_s + self.duration_ms / 1000

    @classmethod
    def from_dict(cls, row: dict) -> "JourneyEvent":
        missing = [key for key in JOURNEY_KEYS
                   if key not in row and key not in OPTIONAL and key not in POLICY_KEYS]
        if missing:
            raise ValueError(f"journey event without {', '.join(missing)}: {row!r}")
        return cls(t_s=float(row["t_s"]), user=str(row["user"]), journey=str(row["journey"]),
                   app_version=str(row["app_version"]), platform=str(row["platform"]),
                   phase=str(row["phase"]), ok=bool(row["ok"]),
                   duration_ms=float(row["duration_ms"]), retries=int(row["retries"]),
                   requests=int(row["requests"]), error=row.get("error"),
                   network=row.get("network"), failure=row.get("failure"),
                   wait_s=float(row.get("wait_s") or 0),
                   fast_failed=int(row.get("fast_failed") or 0),
                   budget_denied=int(row.get("budget_denied") or 0),
                   breaker_opened=int(row.get("breaker_opened") or 0))


def coerce_events(events: Iterable[dict | JourneyEvent]) -> list[JourneyEvent]:
    """Events as `JourneyEvent`s, in start order (ties keep their input order)."""
    typed = [e if isinstance(e, JourneyEvent) else JourneyEvent.from_dict(e) for e in events]
    return sorted(typed, key=lambda e: e.t_s)


def load_events(path: str | Path) -> list[JourneyEvent]:
    """The journey events of a JSON Lines file (`read_jsonl`)."""
    return coerce_events(read_jsonl(path))


def read_jsonl(path: str | Path) -> list[dict]:
    """The lines of a JSON Lines file; a last line cut short (a process killed while
    writing it) is left out, any other bad line is an error naming it."""
    path = Path(path)
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            if number == len(lines):
                break
            row = None
        if not isinstance(row, dict):
            raise ValueError(f"{path}, line {number}: not a JSON object")
        rows.append(row)
    return rows


def version_key(version: str):
    """Sort key for app versions: PEP 440 order (equal versions by their text, so "4.1"
    comes before "4.1.0"), unparsable strings last (alphabetically)."""
    try:
        return (0, Version(version), version)
    except ValueError:  # InvalidVersion, or a number too long for int()
        return (1, Version("0"), version)


def sorted_versions(versions: Iterable[str]) -> list[str]:
    return sorted(set(versions), key=version_key)


def journey_key(journey: str) -> tuple:
    """Journeys in the app's order (docs/reference.md), unknown ones after, alphabetically."""
    return (JOURNEYS.index(journey), "") if journey in JOURNEYS else (len(JOURNEYS), journey)


def phase_key(phase: str) -> tuple:
    return (PHASES.index(phase), "") if phase in PHASES else (len(PHASES), phase)


def normalise_phases(phases: Iterable, events: list[JourneyEvent],
                     duration_s: float | None) -> list[dict]:
    """Phases as `[{name, start_s, end_s}]` in time order.

    Accepts dicts or objects with `name`, `start_s`, `end_s` (e.g. `timeline.Phase`).
    When the caller has none (the phases file was never written), they are rebuilt from
    the events' `phase` labels: each phase starts at its first journey and ends where
    the next one starts (the last one at the run's end).
    """
    rows = []
    for phase in phases or ():
        get = phase.get if isinstance(phase, dict) else lambda k, p=phase: getattr(p, k)
        rows.append({"name": str(get("name")), "start_s": float(get("start_s")),
                     "end_s": float(get("end_s"))})
    if not rows and events:
        starts: dict[str, float] = {}
        for event in events:
            starts[event.phase] = min(starts.get(event.phase, event.t_s), event.t_s)
        names = sorted(starts, key=lambda name: (starts[name], phase_key(name)))
        end = duration_s or max(e.t_s for e in events)
        rows = [{"name": name, "start_s": round(starts[name], 3),
                 "end_s": round(starts[names[i + 1]] if i + 1 < len(names) else end, 3)}
                for i, name in enumerate(names)]
    return sorted(rows, key=lambda row: row["start_s"])


def phase_start(phases: list[dict], name: str) -> float | None:
    return next((p["start_s"] for p in phases if p["name"] == name), None)
