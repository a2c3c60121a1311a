"""When would monitoring have noticed? A burn-rate alert on the observed journey error rate.

The idea comes from the Google SRE workbook, chapter "Alerting on SLOs" (multiwindow,
multi-burn-rate alerts), compressed from a 30-day SLO to a run of a few minutes.

Words first:

- SLO: the share of journeys that must succeed, 0.99 by default. The error budget is
  what is left over: 1 - SLO = 1% of journeys may fail.
- Error rate over a window: failed journeys / journeys that *finished* in the last W
  seconds. A journey counts when it ends (start + duration), because that is the first
  moment anyone can know how it went.
- Burn rate: error rate / error budget. Burn rate 1 spends the budget exactly as fast as
  the SLO allows; burn rate 10 spends it ten times too fast (10% failures at SLO 0.99).
- Monitoring sees all app versions together. It does not know 4.2.0 is the bad one.

The rule, evaluated every `step_s` seconds:

    FIRE when  burn rate over the LONG window  > burn_rate   (it is a real problem)
         and   burn rate over the SHORT window > burn_rate   (and it is still happening)
         and   each window holds at least `min_journeys` finished journeys.

The long window keeps one unlucky second from paging anybody; the short one (a quarter of
the long) makes the alert stop quickly once things are fine again. The workbook runs two
such pairs (1 h / 5 min at 14.4, 6 h / 30 min at 6); a run of minutes has room for one.

Defaults, scaled to the run (`DetectorSettings.for_run`):

- long window  = max(2 timeline buckets, duration / 12); short window = long / 4;
- burn_rate    = 6. Think of the whole run as the SLO period: a long window is 1/12 of
  it, so burning at 6x for one long window spends 6/12 = half the run's error budget.
  That is the workbook's "6x" tier and worth waking someone for. (14.4, its fast tier,
  would need 14.4% of all journeys failing - more than a bad release used by a part of
  the users usually causes.)
- min_journeys = 5; step_s = min(1 s, short window / 2).

Results:

- `detected_at_s`: the first evaluation at or after the incident phase started at which
  the rule fires. Firings before that are false alarms, counted but not "the incident".
- `recovered_at_s`: when the error rate went back under the SLO for good: the last alert
  clears at the first evaluation whose SHORT-window error rate is <= the error budget
  (burn rate <= 1) and stays so at every evaluation for `hold_s` more seconds (default:
  one long window); the alert must not fire again later in the run. None when the
  alert never fired, is still firing at the end, or the run ended before `hold_s` passed.
  Evaluations whose short window has fewer than `min_journeys` journeys neither clear
  the alert nor break a hold: there is not enough to judge.

The latency SLO (a scenario's `slo.p95_ms`): 95 % of journeys must finish within p95_ms,
so its budget is the 5 % allowed to be slower. The same rule runs on the share of slow
journeys (slow / finished over each window, divided by that 5 % budget): the alert FIRES
when either objective burns too fast, and `detected_by` says which one fired first
("success" when both fire at once). It clears when both short windows are back within
their budgets. Without p95_ms only the success SLO is watched, as before.

Pure and deterministic: the same events give the same answer.
"""
from bisect import bisect_right
from dataclasses import asdict, dataclass
from itertools import accumulate

from .aggregate import bucket_size_s
from .events import JourneyEvent


@dataclass(frozen=True)
class DetectorSettings:
    long_window_s: float
    short_window_s: float
    hold_s: float
    step_s: float
    slo: float = 0.99
    burn_rate: float = 6.0
    min_journeys: int = 5
    p95_ms: float | None = None
    latency_budget: float = 0.05

    def __post_init__(self):
        if not 0 < self.slo < 1:
            raise ValueError(f"the SLO is a success share between 0 and 1, not {self.slo}")
        if min(self.long_window_s, self.short_window_s, self.step_s) <= 0 or self.hold_s < 0:
            raise ValueError("detector windows and step must be positive")

    @property
    def error_budget(self) -> float:
        return 1 - self.slo

    @classmethod
    def for_run(cls, duration_s: float, slo: float = 0.99, burn_rate: float = 6.0,
                min_journeys: int = 5, p95_ms: float | None = None) -> "DetectorSettings":
        """The default windows for a run lasting `duration_s` seconds (module docstring)."""
        long_s = max(2 * bucket_size_s(duration_s), duration_s / 12)
        short_s = long_s / 4
        return cls(long_window_s=round(long_s, 3), short_window_s=round(short_s, 3),
                   hold_s=round(long_s, 3), step_s=round(min(1.0, short_s / 2), 3), slo=slo,
                   burn_rate=burn_rate, min_journeys=min_journeys, p95_ms=p95_ms)

    def as_dict(self) -> dict:
        return {**asdict(self), "error_budget": round(self.error_budget, 6)}


@dataclass(frozen=True)
class Detection:
    detected_at_s: float | None
    recovered_at_s: float | None
    alerts: list[dict]          # [{fired_at_s, cleared_at_s}], cleared_at_s None while firing
    false_alarms: int           # alerts that fired before the incident phase started
    detected_by: str | None = None  # "success" or "latency": the objective that fired


class _Windows:
    """Failed / finished journey counts over any trailing window, from prefix sums."""

    def __init__(self, events: list[JourneyEvent], p95_ms: float | None = None):
        limit = float("inf") if p95_ms is None else p95_ms
        finished = sorted((e.finished_s, not e.ok, e.duration_ms > limit) for e in events)
        self.times = [t for t, _, _ in finished]
        self.failed = [0, *accumulate(int(bad) for _, bad, _ in finished)]
        self.slow = [0, *accumulate(int(slow) for _, _, slow in finished)]

    def counts(self, t: float, width: float) -> tuple[int, int, int]:
        """Finished, failed and slow journeys in the `width` seconds up to `t`."""
        lo, hi = bisect_right(self.times, t - width), bisect_right(self.times, t)
        return hi - lo, self.failed[hi] - self.failed[lo], self.slow[hi] - self.slow[lo]


def detect(events: list[JourneyEvent], settings: DetectorSettings,
           incident_start_s: float | None = None, end_s: float | None = None,
           objectives: tuple[str, ...] = ("success", "latency")) -> Detection:
    """Run the alert rule over the whole run (see the module docstring); `objectives`
    narrows it to one SLO (a guardrail on the success or the latency alert alone)."""
    windows = _Windows(events, settings.p95_ms)
    last = max([end_s or 0.0, *windows.times[-1:]])
    times = [round(k * settings.step_s, 3) for k in range(1, int(last / settings.step_s) + 2)]
    fire, clear, why = [], [], []
    for t in times:
        n_long, f_long, s_long = windows.counts(t, settings.long_window_s)
        n_short, f_short, s_short = windows.counts(t, settings.short_window_s)
        enough = min(n_long, n_short) >= settings.min_journeys
        budgets = tuple(b for b in (("success", f_long, f_short, settings.error_budget),
                                    ("latency", s_long, s_short, settings.latency_budget))
                        if b[0] in objectives)
        firing = [name for name, bad_long, bad_short, budget in budgets
                  if enough and _burn(bad_long, n_long, budget) > settings.burn_rate
                  and _burn(bad_short, n_short, budget) > settings.burn_rate]
        fire.append(bool(firing))
        why.append(firing[0] if firing else None)
        # True: within budget; False: over budget; None: too few journeys to say.
        clear.append(None if n_short < settings.min_journeys
                     else all(_burn(bad_short, n_short, budget) <= 1
                              for _, _, bad_short, budget in budgets))

    alerts = _alerts(times, fire, clear, settings.hold_s)
    start = incident_start_s if incident_start_s is not None else float("-inf")
    first = next((i for i, (t, firing) in enumerate(zip(times, fire, strict=True))
                  if firing and t >= start), None)
    detected = None if first is None else times[first]
    final = alerts[-1] if alerts else None
    recovered = (final["cleared_at_s"] if detected is not None and final
                 and final["cleared_at_s"] is not None and final["cleared_at_s"] >= detected
                 else None)
    false_alarms = sum(a["fired_at_s"] < start for a in alerts)
    return Detection(detected, recovered, alerts, false_alarms,
                     None if first is None else why[first])


def _burn(bad: int, finished: int, budget: float) -> float:
    return (bad / finished) / budget if finished else 0.0


def _alerts(times: list[float], fire: list[bool], clear: list[bool | None],
            hold_s: float) -> list[dict]:
    """Alert episodes: each starts when the rule fires and ends at the first clear
    evaluation that stays clear (no False) for `hold_s` and that the run lasts beyond."""
    # next_bad[i]: the first index >= i whose short window is over budget.
    next_bad, upcoming = [len(times)] * (len(times) + 1), len(times)
    for i in range(len(times) - 1, -1, -1):
        if clear[i] is False:
            upcoming = i
        next_bad[i] = upcoming

    def holds(i: int) -> bool:
        until = times[i] + hold_s
        bad = next_bad[i]
        return (clear[i] is True and until <= times[-1]
                and (bad == len(times) or times[bad] > until))

    alerts, i = [], 0
    while i < len(times):
        if not fire[i]:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(times)) if holds(j)), None)
        alerts.append({"fired_at_s": times[i],
                       "cleared_at_s": None if end is None else times[end]})
        if end is None:
            break
        i = end + 1
    return alerts
