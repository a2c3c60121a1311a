"""Guardrails (a scenario's stop conditions) and the preflight check, evaluated live.

A guardrail is `{when, then}` (docs/scenarios.md). `when` is the burn-rate alert of the
report's own detector (`alert`: either SLO; `success_alert`, `latency_alert`: one of
them) or a windowed threshold that holds, such as `success_rate[window=30s]<0.8` (read
as a condition: it FIRES when the window ending now has a success rate under 0.8). `then`
is what an operator's automation would do: `chaos_off` (the chaos kill switch),
`halt_rollout` (halt the rollout of the release the incident published) or `abort_run`
(stop the load; the report says which guardrail stopped it and the run exits 1).

The master (or the local runner) hands in every journey as it arrives and asks `check`
about once a second. A guardrail is armed when the incident starts (the step that starts
the `incident` phase, else the first chaos step, else the run's start): before that
there is nothing to guard. Each fires at most once; its record (`rows`) says when, on
what value, and what its action did. Pure apart from the `actions` handed in, so tests
use a fake clock and fake actions.

`preflight` is the steady-state check run before the first chaos step: the journeys
that finished so far must meet the scenario's SLO; the caller skips the chaos and stops
the run when they do not.
"""
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from loadtests.report.aggregate import percentile
from loadtests.report.detector import DetectorSettings, detect
from loadtests.report.events import JourneyEvent, coerce_events
from loadtests.report.guardrails import ALERTS, parse_when
from loadtests.report.thresholds import Threshold, value_now
from loadtests.report.windows import MIN_JOURNEYS

log = logging.getLogger(__name__)
ACTIONS = ("chaos_off", "halt_rollout", "abort_run")


@dataclass
class Guardrail:
    """One guardrail of a scenario and what became of it."""

    when: str
    then: str
    threshold: Threshold | None = None
    fired_at_s: float | None = None
    value: float | None = None
    effect: str | None = None
    objectives: tuple[str, ...] = field(default=())

    @classmethod
    def of(cls, row: dict) -> "Guardrail":
        when = row["when"].strip()
        return cls(when, row["then"], parse_when(when), objectives=ALERTS.get(when, ()))

    def as_dict(self) -> dict:
        return {"when": self.when, "then": self.then, "fired_at_s": self.fired_at_s,
                "value": self.value, "effect": self.effect}


@dataclass
class Actions:
    """What a guardrail can do; each returns the effect in words (or raises)."""

    chaos_off: Callable[[str], str]
    halt_rollout: Callable[[str], str]
    abort_run: Callable[[str], str]


class Guardrails:
    def __init__(self, rows: list[dict], armed_at_s: float, settings: DetectorSettings,
                 actions: Actions):
        self.guardrails = [Guardrail.of(row) for row in rows]
        self.armed_at_s, self.settings, self.actions = armed_at_s, settings, actions
        self.events: list[JourneyEvent] = []
        self.aborted_by: str | None = None

    @property
    def done(self) -> bool:
        return self.aborted_by is not None or all(g.fired_at_s is not None
                                                  for g in self.guardrails)

    def rows(self) -> list[dict]:
        return [g.as_dict() for g in self.guardrails]

    def add(self, journeys: list[dict]) -> None:
        self.events.extend(coerce_events(journeys))

    def check(self, now_s: float) -> list[Guardrail]:
        """Fire every armed guardrail whose condition holds now; the ones that fired."""
        if self.done or now_s < self.armed_at_s:
            return []
        finished = [e for e in self.events if e.finished_s <= now_s]
        fired = []
        for index, guardrail in enumerate(self.guardrails):
            if guardrail.fired_at_s is not None or self.aborted_by is not None:
                continue
            value = self._value(guardrail, finished, now_s)
            if value is None:
                continue
            guardrail.fired_at_s, guardrail.value = round(now_s, 3), value
            name = f"guardrails[{index}] ({guardrail.when} -> {guardrail.then})"
            log.warning("guardrail %s fired at %.1fs (value %s)", name, now_s, value)
            guardrail.effect = self._act(guardrail, name)
            if guardrail.then == "abort_run":
                self.aborted_by = name
            fired.append(guardrail)
        return fired

    def _value(self, guardrail: Guardrail, finished: list[JourneyEvent],
               now_s: float) -> float | None:
        """The value that makes it fire now, None while it holds back."""
        if guardrail.threshold is not None:
            value = value_now(guardrail.threshold, finished, now_s)
            hit = value is not None and guardrail.threshold.check(value)
            return round(value, 6) if hit else None
        detection = detect(finished, self.settings, incident_start_s=self.armed_at_s,
                           end_s=now_s, objectives=guardrail.objectives)
        if detection.detected_at_s is None:
            return None
        # what the alert saw: journey success (or the p95 latency) over its long window
        window = [e for e in finished if e.finished_s > now_s - self.settings.long_window_s]
        if detection.detected_by == "latency":
            return round(percentile([e.duration_ms for e in window], 95) or 0.0, 1)
        return round(sum(e.ok for e in window) / len(window), 6) if window else None

    def _act(self, guardrail: Guardrail, name: str) -> str:
        try:
            return getattr(self.actions, guardrail.then)(name)
        except Exception as exc:  # noqa: BLE001 - the run goes on; the report says it failed
            log.error("guardrail %s: %s failed: %s", name, guardrail.then, exc)
            return f"failed: {exc}"[:300]


def armed_at(phases: list, first_chaos_s: float | None) -> float:
    """When guardrails start watching (module docstring)."""
    incident = next((p.start_s for p in phases if p.name == "incident"), None)
    return next((t for t in (incident, first_chaos_s) if t is not None), 0.0)


def preflight(journeys: list[dict], now_s: float, slo: float, p95_ms: float | None,
              since_s: float = 0.0) -> dict:
    """`{ok, success_rate, p95_ms, journeys, at_s, reason}` over the baseline's steady
    state: the journeys that started at or after `since_s` (when every phone had opened
    the app: the first opens, with their sign-ins, are a warm-up, not the steady state)
    and finished by `now_s`. ok is None (not judged, the chaos goes on) when fewer than
    MIN_JOURNEYS did: too few to say the bank was failing."""
    finished = [e for e in coerce_events(journeys) if e.t_s >= since_s and e.finished_s <= now_s]
    rate = round(sum(e.ok for e in finished) / len(finished), 6) if finished else None
    p95 = percentile([e.duration_ms for e in finished], 95)
    result = {"ok": None, "success_rate": rate, "p95_ms": None if p95 is None else round(p95, 1),
              "journeys": len(finished), "at_s": round(now_s, 3), "reason": None}
    if len(finished) < MIN_JOURNEYS:
        after = f" after the phones had all started at {since_s:g} s" if since_s else ""
        result["reason"] = (f"only {len(finished)} journeys finished{after} before the first "
                            "fault: too few to check the baseline (start the chaos later, "
                            "or run more journeys: more users, or a higher load.rate in the "
                            "open model)")
        return result
    missed = []
    if rate < slo:
        missed.append(f"journey success {rate:.1%} under the SLO of {slo:.1%}")
    if p95_ms is not None and p95 > p95_ms:
        missed.append(f"p95 {p95:.0f} ms over the latency SLO of {p95_ms:g} ms")
    result["ok"] = not missed
    result["reason"] = "; ".join(missed) or None
    return result
