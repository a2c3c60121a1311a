"""The release timeline: phases in proportion to the run's duration and what happens at each.

`bad-release` (SPEC section 5): baseline (0-25%: everyone on 4.1.x), incident (25-60%:
4.2.0 ships for all platforms and the chaos preset `bad-release` goes on), recovery
(60-100%: hotfix 4.2.1 ships as a required update - `min_supported_version` 4.2.1 - so
each app updates the next time it is opened; the preset targets ==4.2.0 only, so
failures fade as users open their apps). `none` is one baseline phase and touches nothing.

The schedule is pure data; `TimelineDriver` plays it with an injected clock, sleep and
admin client, so it runs under gevent in Locust's master and under plain threads in tests.
"""
import logging
import time
from dataclasses import asdict, dataclass, field

log = logging.getLogger(__name__)

TIMELINES = ("none", "bad-release")
BAD_RELEASE_SHARES = (("baseline", 0.0, 0.25), ("incident", 0.25, 0.60), ("recovery", 0.60, 1.0))
BAD_VERSION, HOTFIX_VERSION = "4.2.0", "4.2.1"


@dataclass(frozen=True)
class Phase:
    name: str
    start_s: float
    end_s: float

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class AdminCall:
    method: str
    path: str
    body: dict | None = None


@dataclass(frozen=True)
class Step:
    """At `at_s` seconds into the run, enter `phase` and make `calls` (in order)."""

    at_s: float
    phase: str
    calls: tuple[AdminCall, ...] = field(default=())


def phases_for(duration_s: float, timeline: str = "bad-release") -> list[Phase]:
    """The phases of a run lasting `duration_s` seconds (rounded to milliseconds)."""
    if duration_s <= 0:
        raise ValueError("the scenario needs a positive duration")
    if timeline == "none":
        return [Phase("baseline", 0.0, float(duration_s))]
    if timeline != "bad-release":
        raise ValueError(f"unknown timeline {timeline!r}; one of {', '.join(TIMELINES)}")
    return [Phase(name, round(duration_s * start, 3), round(duration_s * end, 3))
            for name, start, end in BAD_RELEASE_SHARES]


def phase_at(phases: list[Phase], t_s: float) -> str:
    """The phase running at `t_s`; before the first it is the first, after the last the last."""
    current = phases[0].name
    for phase in phases:
        if t_s >= phase.start_s:
            current = phase.name
    return current


def schedule(phases: list[Phase], timeline: str = "bad-release") -> list[Step]:
    """What the driver does at the start of each phase."""
    calls = {"baseline": ()}
    if timeline == "bad-release":
        calls["incident"] = (
            AdminCall("POST", "/admin/releases", {
                "version": BAD_VERSION, "platform": "all",
                "notes": "New look for payments and faster transfers."}),
            AdminCall("POST", "/admin/chaos/presets/bad-release"),
        )
        calls["recovery"] = (
            AdminCall("POST", "/admin/releases", {
                "version": HOTFIX_VERSION, "platform": "all",
                "min_supported_version": HOTFIX_VERSION,
                "notes": "Required update. Hotfix: fixes intermittent connection failures "
                         "introduced in 4.2.0."}),
        )
    return [Step(p.start_s, p.name, calls.get(p.name, ())) for p in phases]


class TimelineDriver:
    """Plays a schedule: waits for each step, announces its phase, makes its admin calls.

    An admin call that fails is logged and skipped: the load test goes on (a missing
    chaos layer means a run without faults, which the report will show).
    """

    def __init__(self, steps: list[Step], admin, on_phase, *, clock=time.monotonic,
                 sleep=time.sleep):
        self.steps, self.admin, self.on_phase = steps, admin, on_phase
        self.clock, self.sleep = clock, sleep
        self.failures: list[str] = []

    def run(self, started_at: float | None = None) -> None:
        started_at = self.clock() if started_at is None else started_at
        for step in self.steps:
            wait = started_at + step.at_s - self.clock()
            if wait > 0:
                self.sleep(wait)
            log.info("timeline: phase %s at %.1fs", step.phase, self.clock() - started_at)
            self.on_phase(step.phase)
            for call in step.calls:
                try:
                    self.admin(call.method, call.path, call.body)
                except Exception as exc:  # noqa: BLE001 - any failure is logged, the run goes on
                    message = f"{call.method} {call.path}: {exc}"
                    log.error("timeline: admin call failed: %s", message)
                    self.failures.append(message)
