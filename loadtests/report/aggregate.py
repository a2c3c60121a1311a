"""Counting journeys: per journey/version/phase, per version, over time, and per client policy.

Percentiles use linear interpolation between closest ranks, the "inclusive" method of
`statistics.quantiles` (the same as numpy's default and Excel's PERCENTILE.INC): with
durations sorted, p95 sits 95% of the way from the smallest to the largest, between two
observations. A single observation is every percentile; no observations give None.
"""
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable

from .events import JourneyEvent, journey_key, phase_key, sorted_versions, version_key

# The phases in which the bad release can hurt users: the incident, and the recovery while
# users are still updating.
AFFECTED_PHASES = ("incident", "recovery")


def percentile(values: list[float], pct: int) -> float | None:
    """The `pct`-th percentile (1..99) of `values`, as described in the module docstring."""
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def latency(events: list[JourneyEvent]) -> dict:
    durations = [e.duration_ms for e in events]
    return {f"p{pct}_ms": _round(percentile(durations, pct), 1) for pct in (50, 95, 99)}


def success_rate(events: list[JourneyEvent]) -> float | None:
    return sum(e.ok for e in events) / len(events) if events else None


def bucket_size_s(duration_s: float) -> float:
    """Timeline resolution: about 60 buckets per run, never finer than 2 s or coarser than 10 s."""
    return round(min(10.0, max(2.0, duration_s / 60)), 3)


def group(events: Iterable[JourneyEvent], key: Callable) -> dict:
    groups = defaultdict(list)
    for event in events:
        groups[key(event)].append(event)
    return groups


def journey_rows(events: list[JourneyEvent]) -> list[dict]:
    """One row per (journey, app_version, phase); attempts = journeys started."""
    groups = group(events, lambda e: (e.journey, e.app_version, e.phase))
    rows = []
    for (journey, version, phase), items in groups.items():
        succeeded = sum(e.ok for e in items)
        rows.append({"journey": journey, "app_version": version, "phase": phase,
                     "attempts": len(items), "succeeded": succeeded,
                     "failed": len(items) - succeeded, "retries": sum(e.retries for e in items),
                     "requests": sum(e.requests for e in items), **latency(items)})
    return sorted(rows, key=lambda r: (journey_key(r["journey"]), version_key(r["app_version"]),
                                       phase_key(r["phase"])))


def latency_rows(events: list[JourneyEvent]) -> list[dict]:
    """Latency per (journey, app_version) over the whole run (percentiles cannot be merged
    from the per-phase rows, so they are computed again here)."""
    groups = group(events, lambda e: (e.journey, e.app_version))
    rows = [{"journey": journey, "app_version": version, "attempts": len(items),
             **latency(items)} for (journey, version), items in groups.items()]
    return sorted(rows, key=lambda r: (journey_key(r["journey"]), version_key(r["app_version"])))


def version_rows(events: list[JourneyEvent], p95_ms: float | None = None) -> list[dict]:
    """Per app version: distinct users who ran a journey on it, journeys, success rate, how
    many of those users were hurt on it, and when (and in which phase) its first journey
    started: a version first seen in the incident phase is the release the incident
    shipped, one first seen in the recovery phase the hotfix. `harm` says what hurt means."""
    groups = group(events, lambda e: e.app_version)
    rows = []
    for version in sorted_versions(groups):
        items = groups[version]
        first = min(items, key=lambda e: e.t_s)
        rows.append({"app_version": version, **harm(items, p95_ms),
                     "first_seen_s": first.t_s, "first_phase": first.phase})
    return rows


def platform_rows(events: list[JourneyEvent], p95_ms: float | None = None) -> list[dict]:
    """The version rows split by platform: one row per (app version, platform) that ran a
    journey, so an incident that hurts one platform only shows where it lives."""
    groups = group(events, lambda e: (e.app_version, e.platform))
    rows = [{"app_version": version, "platform": platform, **harm(items, p95_ms)}
            for (version, platform), items in groups.items()]
    return sorted(rows, key=lambda r: (version_key(r["app_version"]), r["platform"]))


def harm(events: list[JourneyEvent], p95_ms: float | None) -> dict:
    """Users, journeys, success and p95 of a group of journeys, and who was hurt: a user is
    affected by a failed journey, or by one slower than the latency SLO (`p95_ms`; without
    one, `slow` and `users_slowed` are None and only failures hurt)."""
    failed = [e for e in events if not e.ok]
    slow = [] if p95_ms is None else [e for e in events if e.duration_ms > p95_ms]
    return {"users": len({e.user for e in events}), "journeys": len(events),
            "success_rate": _round(success_rate(events), 4), "failed": len(failed),
            "p95_ms": latency(events)["p95_ms"],
            "slow": None if p95_ms is None else len(slow),
            "users_slowed": None if p95_ms is None else len({e.user for e in slow}),
            "users_affected": len({e.user for e in failed + slow})}


def success_by_version_and_phase(rows: list[dict]) -> dict[str, dict[str, float]]:
    """{app_version: {phase: success rate}} from the journey rows (`journey_rows`)."""
    totals = defaultdict(lambda: [0, 0])
    for row in rows:
        totals[(row["app_version"], row["phase"])][0] += row["succeeded"]
        totals[(row["app_version"], row["phase"])][1] += row["attempts"]
    table = defaultdict(dict)
    for (version, phase), (ok, n) in totals.items():
        table[version][phase] = ok / n
    return table


def affected_success(rows: list[dict]) -> dict[str, float]:
    """{app_version: success rate} over the incident and recovery phases, from the journey
    rows; versions without a journey in those phases are left out."""
    totals = defaultdict(lambda: [0, 0])
    for row in rows:
        if row["phase"] in AFFECTED_PHASES:
            totals[row["app_version"]][0] += row["succeeded"]
            totals[row["app_version"]][1] += row["attempts"]
    return {version: ok / n for version, (ok, n) in totals.items()}


def slo_checks(events: list[JourneyEvent], slo: float, p95_ms: float | None) -> list[dict]:
    """Each version against each SLO over the incident and recovery phases:
    `[{app_version, objective, value, limit, breached}]`, objective `success` (value: the
    share of journeys that succeeded, breached below `slo`) and, with a latency SLO,
    `latency` (value: the p95 journey duration in ms, breached above `p95_ms`)."""
    groups = group((e for e in events if e.phase in AFFECTED_PHASES), lambda e: e.app_version)
    checks = []
    for version in sorted_versions(groups):
        items = groups[version]
        rate = success_rate(items)
        checks.append({"app_version": version, "objective": "success",
                       "value": _round(rate, 6), "limit": slo, "breached": rate < slo})
        if p95_ms is not None:
            p95 = percentile([e.duration_ms for e in items], 95)
            checks.append({"app_version": version, "objective": "latency",
                           "value": _round(p95, 1), "limit": p95_ms, "breached": p95 > p95_ms})
    return checks


def bad_versions(checks: list[dict]) -> list[str]:
    """The versions the incident hurt, in PEP 440 order: those that breached an SLO during
    the incident and recovery phases (`slo_checks`): journey success below the success
    SLO, or a p95 journey duration over the latency SLO (the lines users notice)."""
    return sorted_versions(c["app_version"] for c in checks if c["breached"])


def timeline_rows(events: list[JourneyEvent], bucket_s: float) -> list[dict]:
    """Journeys started and failed per bucket and version; `t_s` is the bucket's start.
    Buckets in which a version started no journey are left out."""
    groups = group(events, lambda e: (int(e.t_s // bucket_s), e.app_version))
    rows = [{"t_s": round(index * bucket_s, 3), "app_version": version, "attempts": len(items),
             "failed": sum(not e.ok for e in items)}
            for (index, version), items in groups.items()]
    return sorted(rows, key=lambda r: (r["t_s"], version_key(r["app_version"])))


def users_affected(events: list[JourneyEvent],
                   p95_ms: float | None = None) -> tuple[int, float | None]:
    """Distinct users with at least one failed journey, or one slower than the latency SLO
    (`p95_ms`), during the incident or recovery phases, and their share (in percent) of
    every user who ran a journey in the run."""
    everyone = {e.user for e in events}
    hurt = {e.user for e in events if e.phase in AFFECTED_PHASES
            and (not e.ok or (p95_ms is not None and e.duration_ms > p95_ms))}
    pct = _round(100 * len(hurt) / len(everyone), 1) if everyone else None
    return len(hurt), pct


def users_slowed(events: list[JourneyEvent], p95_ms: float | None) -> int | None:
    """Distinct users with a journey slower than the latency SLO during the incident or
    recovery phases; None without a latency SLO."""
    if p95_ms is None:
        return None
    return len({e.user for e in events
                if e.phase in AFFECTED_PHASES and e.duration_ms > p95_ms})


def cost(events: list[JourneyEvent]) -> dict:
    """What the client policy costs and buys: requests and retries per journey, success."""
    n = len(events)
    return {"journeys": n,
            "requests_per_journey": _round(sum(e.requests for e in events) / n, 3) if n else None,
            "retries_per_journey": _round(sum(e.retries for e in events) / n, 3) if n else None,
            "success_rate": _round(success_rate(events), 4)}


def policy_block(events: list[JourneyEvent], name: str | None) -> dict:
    """The client policy's cost, overall and per phase, shaped so that the reports of two runs
    (`--client-policy backoff` vs `naive`) can be compared key by key."""
    phases = group(events, lambda e: e.phase)
    return {"name": name, "overall": cost(events),
            "by_phase": {phase: cost(phases[phase]) for phase in sorted(phases, key=phase_key)}}


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
