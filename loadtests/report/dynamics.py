"""The report's incident-dynamics blocks: load, goodput, the client policy as run and what it
did, and the metastable window (docs/reference.md, report.json).

Pure: from the journey events, the run's phases and the arrivals the phones tallied
(load.json, written by the Locust process: offered, started and dropped arrivals per second).

- `load`: offered arrivals (the open model's Poisson process), started journeys (an
  arrival found a free phone), dropped arrivals (it found none), completed journeys (their
  outcome is recorded), and the same per timeline bucket with the journeys that succeeded.
  In the closed model every journey a phone began was offered and started, none dropped.
- `goodput`: journeys that succeeded per second, per phase.
- `metastable`: from the trigger's end (the step that starts `recovery`) to the first
  window of METASTABLE_WINDOW_S whose journeys met the success SLO, dropped arrivals
  counting as failures; None when no such window came before the run ended. A run that
  ended less than one window after the trigger cannot say (`recovery_judged`): its None
  is "not judged", never "did not recover".
"""
from loadtests.phone.retry import policy_of

METASTABLE_WINDOW_S = 10.0


def load_block(load: dict | None, events: list, bucket_s: float, duration_s: float,
               model: str, rate: float | None) -> dict:
    seconds = (load or {}).get("seconds") or []
    buckets = max(1, int(-(-duration_s // bucket_s)))
    rows = [{"t_s": round(i * bucket_s, 3), "offered": 0, "started": 0, "dropped": 0,
             "succeeded": 0} for i in range(buckets)]

    def row_of(t_s: float) -> dict:
        return rows[min(buckets - 1, max(0, int(t_s // bucket_s)))]

    if model == "open":
        for second in seconds:
            if second["t_s"] >= duration_s:  # the phones' last moments after the run's end
                continue
            row = row_of(second["t_s"])
            for key in ("offered", "started", "dropped"):
                row[key] += second[key]
    for event in events:
        if event.t_s >= duration_s:
            continue
        row = row_of(event.t_s)
        row["succeeded"] += event.ok
        if model != "open":
            row["offered"] += 1
            row["started"] += 1
    total = {key: sum(row[key] for row in rows) for key in ("offered", "started", "dropped")}
    return {"model": model, "rate": rate, "rates": (load or {}).get("rates") or [],
            "phones": (load or {}).get("phones"), **total, "completed": len(events),
            "timeline": rows}


def goodput_rows(events: list, phases: list[dict]) -> list[dict]:
    rows = []
    for phase in phases:
        length = phase["end_s"] - phase["start_s"]
        ok = sum(1 for e in events if e.ok and phase["start_s"] <= e.t_s < phase["end_s"])
        rows.append({"phase": phase["name"],
                     "succeeded_per_s": round(ok / length, 3) if length > 0 else None})
    return rows


def trigger_end(phases: list[dict]) -> float | None:
    return next((p["start_s"] for p in phases if p["name"] == "recovery"), None)


def recovery_judged(ended_at: float | None, duration_s: float | None) -> bool:
    """Whether the run went on a whole window after the trigger ended: only then can a
    missing metastable_s mean the bank did not recover."""
    return (ended_at is not None and duration_s is not None
            and duration_s - ended_at >= METASTABLE_WINDOW_S - 1e-9)


def metastable_s(events: list, load: dict, ended_at: float | None, slo: float,
                 duration_s: float, window_s: float = METASTABLE_WINDOW_S) -> float | None:
    """Seconds from the trigger's end until a whole window met the SLO (see the module)."""
    if ended_at is None:
        return None
    dropped = [(row["t_s"], row["dropped"]) for row in load.get("timeline") or ()]
    bucket_s = (dropped[1][0] - dropped[0][0]) if len(dropped) > 1 else window_s
    start = ended_at
    while start + window_s <= duration_s + 1e-9:
        inside = [e for e in events if start <= e.t_s < start + window_s]
        lost = sum(n for t, n in dropped if start <= t < start + window_s)
        tried = len(inside) + lost
        if tried and sum(e.ok for e in inside) / tried >= slo:
            return round(start - ended_at, 3)
        start += bucket_s
    return None


def client_block(client) -> dict | None:
    """The client policy as run: every setting, built-ins spelled out."""
    if client is None:
        return None
    try:
        return policy_of(client).as_dict()
    except (ValueError, KeyError, TypeError):
        return None


def policy_counts(events: list) -> dict:
    """What the client policy did over the run (added to the report's `policy` block)."""
    n = len(events)
    return {"attempts_per_journey": round(sum(e.requests for e in events) / n, 3) if n else None,
            "retries_per_journey": round(sum(e.retries for e in events) / n, 3) if n else None,
            "retry_wait_s": round(sum(e.wait_s for e in events), 3),
            "fast_failed": sum(e.fast_failed for e in events),
            "budget_denied": sum(e.budget_denied for e in events),
            "breaker_opened": sum(e.breaker_opened for e in events)}


def wasted_requests(access_lines, timeout_s: float,
                    operator_routes: tuple[str, ...] = ("/admin", "/metrics", "/health")) -> int:
    """Requests the bank answered later than the client's timeout, by its own access log:
    `queued_ms` (waiting for a thread) + `duration_ms` (the app's work) over the timeout."""
    limit_ms = timeout_s * 1000
    wasted = 0
    for line in access_lines:
        if not isinstance(line, dict) or str(line.get("route", "")).startswith(operator_routes):
            continue
        took = (line.get("queued_ms") or 0) + (line.get("duration_ms") or 0)
        wasted += took > limit_ms
    return wasted


def dynamics_lines(report: dict) -> list[str]:
    """The dynamics in words, for the summary and report.html: the open model's arrivals,
    goodput per phase, the recovery after the trigger, what the client policy did."""
    lines = []
    load = report.get("load") or {}
    if load.get("model") == "open":
        lines.append(f"load: open model at {load.get('rate'):g} journeys/s: "
                     f"{load.get('offered')} arrivals offered, {load.get('started')} started, "
                     f"{load.get('dropped')} dropped (no free phone), "
                     f"{load.get('completed')} completed")
    goodput = report.get("goodput") or []
    if goodput:
        lines.append("goodput: " + ", ".join(f"{row['phase']} {row['succeeded_per_s']:g}/s"
                                             for row in goodput))
    incident = report.get("incident") or {}
    # the metastable window is the open model's story: in the closed model a slow bank
    # also gets less traffic, and the detector's recovery already says when it came back
    ended = incident.get("trigger_ended_at_s")
    if load.get("model") == "open" and ended is not None:
        back = incident.get("metastable_s")
        if back is not None:
            verdict = f"back within the SLO {back:g} s later"
        elif recovery_judged(ended, report.get("duration_s")):
            verdict = "did not recover within the run (metastable)"
        else:
            verdict = (f"the run ended too soon after it to judge recovery (a whole "
                       f"{METASTABLE_WINDOW_S:g} s window is needed)")
        lines.append(f"after the trigger ended at {ended:g} s: {verdict}")
    policy, server = report.get("policy") or {}, report.get("server") or {}
    if policy.get("attempts_per_journey") is not None:
        wasted = server.get("wasted_requests")
        lines.append(f"client policy {policy.get('name')}: "
                     f"{policy['attempts_per_journey']:g} requests and "
                     f"{policy.get('retries_per_journey') or 0:g} retries per journey, "
                     f"{policy.get('retry_wait_s') or 0:g} s waiting before retries, "
                     f"{policy.get('fast_failed', 0)} failed fast, "
                     f"{policy.get('budget_denied', 0)} retries refused by the budget"
                     + (f"; {wasted} requests answered after the phone gave up"
                        if wasted is not None else ""))
    return lines
