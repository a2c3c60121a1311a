"""The run's stop conditions inside Locust: guardrails and the preflight, live.

Imported only by the coordinator (it uses gevent), in the master or the local runner,
which sees every journey. `RunGuard` feeds the journeys to the scenario's guardrails
(loadtests/scenario/guardrails.py), checks them every CHECK_S in a greenlet, gives their
actions their means (the timeline driver's admin calls; stopping Locust's runner), runs
the preflight when the driver is about to start the first fault, and hands what came of
it all to steps.json for the report.
"""
import logging

import gevent

from loadtests.report.detector import DetectorSettings
from loadtests.scenario.guardrails import Actions, Guardrails, armed_at, preflight

log = logging.getLogger(__name__)
CHECK_S = 1.0


class RunGuard:
    def __init__(self, environment, scenario, driver, phases, duration_s: float, clock,
                 flush_workers):
        self.environment, self.scenario, self.driver = environment, scenario, driver
        self.clock, self.flush_workers = clock, flush_workers  # clock: seconds into the run
        self.aborted_by: str | None = None
        self.halted_at_s: float | None = None
        self.preflight: dict | None = None
        self.journeys: list[dict] = [] if scenario.preflight else None  # until it has run
        settings = DetectorSettings.for_run(duration_s, slo=scenario.slo,
                                            p95_ms=scenario.p95_ms)
        actions = Actions(chaos_off=driver.chaos_off, halt_rollout=self._halt,
                          abort_run=self._abort)
        self.guardrails = (Guardrails(scenario.guardrails,
                                      armed_at(phases, scenario.first_chaos_s(duration_s)),
                                      settings, actions)
                           if scenario.guardrails else None)
        if scenario.preflight and scenario.first_chaos_s(duration_s) is not None:
            driver.before_chaos = self.before_chaos

    def feed(self, journeys: list[dict]) -> None:
        if self.journeys is not None:
            self.journeys.extend(journeys)
        if self.guardrails is not None and not self.guardrails.done:
            self.guardrails.add(journeys)

    def watch(self) -> None:
        """The guardrails' loop (a greenlet), until each has fired or the run aborted."""
        while self.guardrails is not None and not self.guardrails.done:
            gevent.sleep(CHECK_S)
            self.guardrails.check(self.clock())

    def before_chaos(self) -> bool:
        """The preflight (module docstring): False stops the run before the first fault."""
        self.flush_workers()  # every journey finished so far, from every worker
        self.preflight = preflight(self.journeys or [], self.clock(), self.scenario.slo,
                                   self.scenario.p95_ms, since_s=self.scenario.arrival_s)
        self.journeys = None
        if self.preflight["ok"] is False:
            log.error("preflight: the bank missed its SLO before any fault was injected (%s); "
                      "no fault is injected, the run stops", self.preflight["reason"])
            self._abort("the preflight check")
            return False
        if self.preflight["ok"] is None:
            log.warning("preflight: %s", self.preflight["reason"])
        return True

    def record(self) -> dict:
        """What steps.json keeps of the stop conditions."""
        return {"guardrails": self.guardrails.rows() if self.guardrails else [],
                "preflight": self.preflight, "aborted_by": self.aborted_by,
                "halted_at_s": self.halted_at_s}

    @staticmethod
    def phases_begun(phases: list, current: str) -> list:
        """The planned phases up to the one running when the load stopped (an aborted run
        may stop just as the timeline reaches a step, whose phase then never began)."""
        last = max((i for i, p in enumerate(phases) if p.name == current), default=0)
        return phases[:last + 1]

    def _halt(self, name: str) -> str:
        versions = self.scenario.incident_versions()
        if not versions:
            return "nothing to halt: the incident published no release"
        if not all([self.driver.halt(v) for v in versions]):
            raise RuntimeError(f"the bank refused to halt {', '.join(versions)}")
        self.halted_at_s = round(self.clock(), 3)
        return f"rollout of {', '.join(versions)} halted at {self.halted_at_s:g} s"

    def _abort(self, name: str) -> str:
        """Stop the load now; the run then ends as at its time limit, and reports."""
        self.aborted_by = name
        self.driver.stopped = True
        runner, options = self.environment.runner, self.environment.parsed_options
        # a greenlet of its own: stopping the runner kills the greenlet that asked
        gevent.spawn(runner.quit if getattr(options, "headless", False) else runner.stop)
        return f"run aborted at {self.clock():.1f} s: the load was stopped"
