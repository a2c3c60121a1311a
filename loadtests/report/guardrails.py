"""The report's view of a run's stop conditions: guardrails, the preflight, an aborted run.

What a guardrail's `when` may say is declared here (`parse_when`, `ALERTS`), because the
report judges it again after the run: the live side (loadtests/scenario/guardrails.py)
records when each fired, on what value, and what its action did; `guardrail_rows` adds
what followed, from every journey of the run:

- `recovered_at_s`: when the condition that fired it stopped holding for good. For an
  alert, when the detector's last alert cleared (its own hold rule); for a windowed
  threshold, the end of the first judged window after the last one where it held.
  None when it still held at the end of the run (or the run stopped right there).
- `recovered_after_s`: recovered_at_s - fired_at_s, the time to recover after it fired.

`reasons` are the verdict's words for a run a stop condition failed: an `abort_run`
guardrail stopped it, or the preflight found the bank missing its SLO before any fault.
Either way the run exits 1; neither is ever a silent pass.
"""
from .detector import DetectorSettings, detect
from .events import JourneyEvent
from .fmt import milliseconds, percent, seconds
from .thresholds import Threshold, parse_threshold, value_now
from .windows import window_ends

ALERTS = {"alert": ("success", "latency"), "success_alert": ("success",),
          "latency_alert": ("latency",)}
PREFLIGHT_FAILED = "the bank missed its SLO before any fault was injected"


def parse_when(text) -> Threshold | None:
    """The threshold of a `when` (None for an alert); ValueError saying what is wrong."""
    if not isinstance(text, str):
        raise ValueError("write an alert (alert, success_alert, latency_alert) or a windowed "
                         "threshold, e.g. \"success_rate[window=30s]<0.8\"")
    if text.strip() in ALERTS:
        return None
    threshold = parse_threshold(text, run_metrics=())
    if threshold.window_s is None:
        raise ValueError(f"{text!r} needs a window, judged on the seconds just past, e.g. "
                         f"{threshold.metric}[window=30s]{threshold.op}{threshold.limit:g}")
    return threshold


def guardrail_rows(rows: list[dict], events: list[JourneyEvent], settings: DetectorSettings,
                   end_s: float) -> list[dict]:
    """Each guardrail as the run recorded it, with what followed (module docstring)."""
    result = []
    for row in rows:
        recovered = _recovered_at(row, events, settings, end_s)
        fired = row.get("fired_at_s")
        result.append({**row, "recovered_at_s": recovered,
                       "recovered_after_s": None if recovered is None or fired is None
                       else round(recovered - fired, 3)})
    return result


def _recovered_at(row: dict, events: list[JourneyEvent], settings: DetectorSettings,
                  end_s: float) -> float | None:
    fired, when = row.get("fired_at_s"), str(row.get("when")).strip()
    if fired is None:
        return None
    if when in ALERTS:
        alerts = detect(events, settings, end_s=end_s, objectives=ALERTS[when]).alerts
        if not alerts:
            return fired  # the whole run's detector saw no alert to clear
        cleared = alerts[-1]["cleared_at_s"]
        return None if cleared is None else max(cleared, fired)
    try:
        threshold = parse_when(when)
    except ValueError:
        return None
    judged = [(t, v) for t in window_ends(threshold.window_s, end_s) if t > fired
              for v in [value_now(threshold, events, t)] if v is not None]
    held = [t for t, v in judged if threshold.check(v)]
    if not judged or (held and held[-1] == judged[-1][0]):
        return None
    last = held[-1] if held else fired
    return next(t for t, _ in judged if t > last)


def reasons(report: dict) -> list[str]:
    """Why a stop condition fails the run ([] when none did)."""
    found = []
    preflight = report.get("preflight") or {}
    if preflight.get("ok") is False:
        found.append(f"preflight failed: {PREFLIGHT_FAILED} ({preflight.get('reason')})")
    aborted = report.get("aborted_by")
    if aborted and aborted != "the preflight check":
        found.append(f"{aborted} aborted the run at {seconds(_fired_at(report, aborted))}")
    return found


def _fired_at(report: dict, name: str) -> float | None:
    index = name.partition("[")[2].partition("]")[0]
    rows = report.get("guardrails") or []
    return rows[int(index)].get("fired_at_s") if index.isdigit() and int(index) < len(rows) \
        else report.get("duration_s")


def preflight_headline(report: dict) -> str | None:
    """The whole headline of a run whose preflight failed (None otherwise): the faults it
    was to inject never ran, so nothing it measured is theirs."""
    preflight = report.get("preflight") or {}
    if preflight.get("ok") is not False:
        return None
    p95 = (f", p95 {milliseconds(preflight.get('p95_ms'))}"
           if report.get("slo_p95_ms") is not None else "")
    return (f"The bank missed its SLO before any fault was injected: journey success "
            f"{percent(preflight.get('success_rate'))}{p95} over the "
            f"{preflight.get('journeys')} journeys finished by {seconds(preflight.get('at_s'))} "
            f"({preflight.get('reason')}); no fault was injected and the run was stopped, so "
            "nothing here is the incident's doing.")


def fired_clauses(report: dict) -> list[str]:
    """One clause per guardrail that fired, for the end of the headline."""
    clauses = []
    halted = (report.get("incident") or {}).get("halted_at_s") is not None
    for row in report.get("guardrails") or ():
        if row.get("fired_at_s") is None or (halted and row["then"] == "halt_rollout"):
            continue  # (the headline says when the rollout was halted already)
        text = (f"guardrail {row['when']} fired at {seconds(row['fired_at_s'])} "
                f"({row['then']}: {row.get('effect')})")
        if row.get("recovered_after_s") is not None:
            text += f", and the run was back within it {seconds(row['recovered_after_s'])} later"
        elif row["then"] != "abort_run":
            text += ", and it had not recovered when the run ended"
        clauses.append(text)
    return clauses


def summary_lines(report: dict) -> list[str]:
    """The terminal's lines for the preflight and each guardrail (none when unused)."""
    lines = []
    preflight = report.get("preflight")
    if preflight:
        state = {True: "met the SLO", False: "FAILED", None: "not judged"}[preflight.get("ok")]
        lines.append(f"preflight at {seconds(preflight.get('at_s'))}: {state}; journey "
                     f"success {percent(preflight.get('success_rate'))}, p95 "
                     f"{milliseconds(preflight.get('p95_ms'))} over "
                     f"{preflight.get('journeys')} journeys"
                     + (f" ({preflight['reason']})" if preflight.get("reason") else ""))
    for index, row in enumerate(report.get("guardrails") or ()):
        head = f"guardrails[{index}] {row['when']} -> {row['then']}: "
        if row.get("fired_at_s") is None:
            lines.append(head + "never fired")
            continue
        after = ("" if row.get("recovered_after_s") is None
                 else f"; recovered {seconds(row['recovered_after_s'])} after")
        lines.append(head + f"fired at {seconds(row['fired_at_s'])} (value {row.get('value')}); "
                     f"{row.get('effect')}{after}")
    return lines
