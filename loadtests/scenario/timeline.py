"""Playing a scenario's timeline (docs/scenarios.md) through the bank's admin API.

`phases_for` cuts the run into the scenario's phases (the first, from 0 s, is `baseline`;
each step with `phase:` starts the next). `TimelineDriver` waits for each step and applies
its keys in the order phase, release, rollout, chaos, as an operator would, with an
injected clock, sleep and admin client (gevent in Locust's master, threads in tests).
Every step leaves a record (when, which phase, which calls, what came of them) for the
report's `timeline_steps`. A failed call is recorded and the run goes on (the report then
fails the run, unless the user allowed failed steps); a change to a halted release is
skipped and noted, never an error (the bank answers 409 rollout_halted).

Two stop conditions act through the driver (loadtests/scenario/guardrails.py): a
`before_chaos` check runs before the first step that can start faults, and when it says
no, that step and every later one are skipped (the preflight: no fault is injected into a
bank already missing its SLO); after a guardrail's `chaos_off`, steps that would start
faults again are skipped and noted.

Every chaos rule a step creates is noted too (`chaos_rules`: id, name, the step, the preset),
with its counters as they stood when a later step removed it; `rules_as_run` completes the
list with the counters read at the end of the run, for the report's `chaos_rules`.
"""
import logging
import time
from dataclasses import asdict, dataclass
from urllib.parse import quote

from chaos.client import AdminError
from loadtests.scenario.loader import Scenario, TimelineStep
from loadtests.scenario.stop_schema import injects

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Phase:
    name: str
    start_s: float
    end_s: float

    def as_dict(self) -> dict:
        return asdict(self)


def phases_for(scenario: Scenario, duration_s: float | None = None) -> list[Phase]:
    """The phases of a run lasting `duration_s` (default: the scenario's) seconds."""
    duration_s = scenario.duration_s if duration_s is None else float(duration_s)
    if duration_s <= 0:
        raise ValueError("the scenario needs a positive duration")
    starts = [("baseline", 0.0)]
    for step in scenario.steps(duration_s):
        if step.phase:
            if step.at_s <= starts[-1][1]:
                starts.pop()
            starts.append((step.phase, step.at_s))
    ends = [start for _, start in starts[1:]] + [duration_s]
    return [Phase(name, round(start, 3), round(end, 3))
            for (name, start), end in zip(starts, ends, strict=True)]


def phase_at(phases: list[Phase], t_s: float) -> str:
    """The phase running at `t_s`; before the first it is the first, after the last the last."""
    current = phases[0].name
    for phase in phases:
        if t_s >= phase.start_s:
            current = phase.name
    return current


def release_body(release: dict) -> dict:
    """POST /admin/releases's body; rollout_percent only for a staged rollout, so a bank
    without staged rollouts still accepts a full release."""
    body = {"version": str(release["version"]), "platform": release.get("platform", "all"),
            "notes": release.get("notes") or f"Release {release['version']}"}
    if release.get("min_supported"):
        body["min_supported_version"] = str(release["min_supported"])
    if release.get("rollout", 100) < 100:
        body["rollout_percent"] = release["rollout"]
    return body


class TimelineDriver:
    """Plays a scenario's timeline; `records` says what each step did."""

    def __init__(self, scenario: Scenario, admin, on_phase, *, duration_s: float | None = None,
                 clock=time.monotonic, sleep=time.sleep, before_chaos=None):
        self.scenario, self.admin, self.on_phase = scenario, admin, on_phase
        self.before_chaos = before_chaos  # () -> bool: False skips the rest of the timeline
        self.stopped = False              # the preflight said no: no later step is played
        self.chaos_off_by: str | None = None  # the guardrail that switched chaos off
        self.steps = scenario.steps(duration_s)
        self.clock, self.sleep = clock, sleep
        self.records: list[dict] = []
        self.halted: dict[str, float] = {}     # version -> seconds into the run
        self.rollout: dict[str, float] = {}    # version -> percent offered
        self.started_at: float | None = None
        self.chaos_rules: list[dict] = []       # every rule a step created, in order

    @property
    def failures(self) -> list[str]:
        return [f"{c['call']}: {c['note']}" for r in self.records for c in r["calls"]
                if c["outcome"] == "failed"]

    def elapsed(self) -> float:
        return round(self.clock() - self.started_at, 3) if self.started_at is not None else 0.0

    def run(self, started_at: float | None = None) -> None:
        self.started_at = self.clock() if started_at is None else started_at
        if self.scenario["releases"]:
            record = self._record("setup", None, 0.0)
            for release in self.scenario["releases"]:
                self._publish(record, release, already_ok=True)
        for step in self.steps:
            wait = self.started_at + step.at_s - self.clock()
            if wait > 0:
                self.sleep(wait)
            if self.stopped:
                return
            self.apply(step)

    def apply(self, step: TimelineStep) -> dict:
        record = self._record(f"timeline[{step.index}]", step.phase, step.at_s)
        if self.before_chaos is not None and injects(step.chaos):
            check, self.before_chaos = self.before_chaos, None  # once, before the first
            if not check():
                self.stopped = True
                self._note(record, "step", "skipped", "the preflight check failed: the bank "
                           "missed its SLO before any fault was injected")
                return record
        log.info("timeline: step %d (%s) at %.1fs", step.index, step.phase or "-",
                 self.elapsed())
        if step.phase:
            self.on_phase(step.phase)
        if step.release:
            self._publish(record, step.release)
        if step.rollout:
            self._change_rollout(record, step.rollout)
        if step.chaos:
            self._chaos(record, step.chaos)
        return record

    def halt(self, version: str) -> bool:
        """Halt `version`'s rollout now (the alert fired); True when the bank took it."""
        record = self._record("halt_on_alert", None, self.elapsed())
        ok = self._call(record, "PATCH", f"/admin/releases/{quote(version)}",
                        {"halted": True}) is not None
        if ok:
            self.halted[version] = self.elapsed()
        return ok

    def chaos_off(self, guardrail: str) -> str:
        """The kill switch, for a guardrail: no fault is injected from now on."""
        record = self._record("guardrail", None, self.elapsed())
        if self._call(record, "POST", "/admin/chaos/disable") is None:
            raise RuntimeError(record["calls"][-1]["note"])
        self.chaos_off_by = guardrail
        return f"chaos switched off at {self.elapsed():g} s (POST /admin/chaos/disable)"

    # -- the step kinds -------------------------------------------------------------------

    def _publish(self, record: dict, release: dict, already_ok: bool = False) -> None:
        version = str(release["version"])
        if version in self.halted:
            return self._skip(record, "POST /admin/releases", version)
        body = release_body(release)
        if self._call(record, "POST", "/admin/releases", body, already_ok=already_ok) is not None:
            self.rollout[version] = float(release.get("rollout", 100))

    def _change_rollout(self, record: dict, rollout: dict) -> None:
        version, path = str(rollout["version"]), f"/admin/releases/{quote(str(rollout['version']))}"
        if version in self.halted:
            return self._skip(record, f"PATCH {path}", version)
        if self._call(record, "PATCH", path, {"rollout_percent": rollout["percent"]}) is not None:
            self.rollout[version] = float(rollout["percent"])

    def _chaos(self, record: dict, chaos: dict) -> None:
        if self.chaos_off_by and injects(chaos):
            return self._note(record, "chaos", "skipped",
                              f"chaos was switched off by {self.chaos_off_by}")
        if "preset" in chaos:
            answer = self._call(record, "POST", f"/admin/chaos/presets/{quote(chaos['preset'])}")
            self._created(record, (answer or {}).get("rules") or (), chaos["preset"])
        elif "rules" in chaos:
            for rule in chaos["rules"]:
                self._created(record, [self._call(record, "POST", "/admin/chaos/rules", rule)])
        elif "remove" in chaos:
            listing = self._call(record, "GET", "/admin/chaos/rules")
            names, found = set(chaos["remove"]), set()
            for rule in (listing or {}).get("rules", ()):
                if rule.get("name") in names:
                    found.add(rule["name"])
                    path = f"/admin/chaos/rules/{rule['id']}"
                    if self._call(record, "DELETE", path) is not None:
                        self._removed(rule)
            if listing is not None and names - found:  # removing nothing is a typo
                self._fail(record, "DELETE /admin/chaos/rules/<name>", ValueError(
                    f"no chaos rule named {', '.join(map(repr, sorted(names - found)))}"))
        elif chaos.get("off"):
            self._call(record, "POST", "/admin/chaos/disable")
        elif chaos.get("on"):
            self._call(record, "POST", "/admin/chaos/enable")
        elif chaos.get("clear"):
            listing = self._counters()
            if self._call(record, "DELETE", "/admin/chaos/rules") is not None:
                for rule in listing:
                    self._removed(rule)

    # -- the rules the timeline created ---------------------------------------------------

    def _created(self, record: dict, rules, preset: str | None = None) -> None:
        for rule in rules:
            if rule and rule.get("id"):
                self.chaos_rules.append({
                    "id": rule["id"], "name": rule.get("name"), "step": record["step"],
                    "preset": preset, "matched": None, "injected": None,
                    "removed_at_s": None})

    def _removed(self, rule: dict) -> None:
        """Keep the counters of a rule a step deletes: the end of the run cannot read them."""
        for noted in self.chaos_rules:
            if noted["id"] == rule.get("id"):
                stats = rule.get("stats") or {}
                noted.update(matched=stats.get("matched"), injected=stats.get("injected"),
                             removed_at_s=self.elapsed())

    def _counters(self) -> list[dict]:
        """The rules with their counters, before a clear (bookkeeping: not a step's call)."""
        try:
            return (self.admin("GET", "/admin/chaos/rules") or {}).get("rules") or []
        except Exception as exc:  # noqa: BLE001 - the clear goes on; counters stay unknown
            log.warning("timeline: could not read the rules' counters before a clear: %s", exc)
            return []

    # -- bookkeeping --------------------------------------------------------------------

    def _record(self, step: str, phase: str | None, at_s: float) -> dict:
        record = {"step": step, "at_s": at_s, "started_s": self.elapsed(), "phase": phase,
                  "calls": [], "outcome": "ok"}
        self.records.append(record)
        return record

    def _call(self, record: dict, method: str, path: str, body: dict | None = None,
              already_ok: bool = False) -> dict | None:
        """Make one admin call and note it; the answer, or None when it did not apply."""
        label = f"{method} {path}"
        try:
            answer = self.admin(method, path, body)
        except AdminError as exc:
            if exc.code == "rollout_halted":
                self._note(record, label, "skipped", "the release's rollout is halted")
                return None
            if already_ok and exc.status == 409:
                self._note(record, label, "ok", "already published")
                return {}
            return self._fail(record, label, exc)
        except Exception as exc:  # noqa: BLE001 - any failure is noted, the run goes on
            return self._fail(record, label, exc)
        self._note(record, label, "ok", None)
        return answer if answer is not None else {}

    def _fail(self, record: dict, label: str, exc: Exception) -> None:
        log.error("timeline: admin call failed: %s: %s", label, exc)
        self._note(record, label, "failed", str(exc)[:300])
        record["outcome"] = "failed"
        return None

    def _skip(self, record: dict, label: str, version: str) -> None:
        self._note(record, label, "skipped",
                   f"{version}'s rollout was halted at {self.halted[version]:g} s")

    @staticmethod
    def _note(record: dict, label: str, outcome: str, note: str | None) -> None:
        record["calls"].append({"call": label, "outcome": outcome, "note": note})
        if outcome == "skipped" and record["outcome"] == "ok":
            record["outcome"] = "skipped"


def rules_as_run(created: list[dict], final: list[dict]) -> list[dict]:
    """The timeline's rules (`TimelineDriver.chaos_rules`) with the counters of `final`
    (GET /admin/chaos's rules at the end of the run) for those still there; rules the
    timeline did not create (added by hand during the run) follow, with no step."""
    at_end = {rule.get("id"): rule for rule in final}
    rows = []
    for noted in created:
        row = dict(noted)
        if row["id"] in at_end and row["removed_at_s"] is None:
            stats = at_end[row["id"]].get("stats") or {}
            row.update(matched=stats.get("matched"), injected=stats.get("injected"))
        rows.append(row)
    known = {row["id"] for row in rows}
    for rule in final:
        if rule.get("id") not in known:
            stats = rule.get("stats") or {}
            rows.append({"id": rule.get("id"), "name": rule.get("name"), "step": None,
                         "preset": None, "matched": stats.get("matched"),
                         "injected": stats.get("injected"), "removed_at_s": None})
    return rows
