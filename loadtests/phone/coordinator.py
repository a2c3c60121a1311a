"""What every Locust process must agree on during a run, locally or distributed.

Imported only by `locustfile.py` (it uses gevent). One `RunCoordinator` per process:

- user numbers: one global counter, kept by the master (or the local runner); a worker
  asks for the next number with a `banksim_claim` message and waits for the answer;
- the phase and the run's start time: set by the master's timeline and broadcast to
  workers (`banksim_phase`), so each journey carries the phase at its start;
- the scenario's timeline: played by the master (or the local runner), which also
  watches the scenario's guardrails and runs its preflight check live, on the journeys
  it collects (`guard.py`);
- journey events and transfer intents: a worker buffers them and sends them to the
  master (`banksim_events`) every FLUSH_INTERVAL_S, when the master asks
  (`banksim_flush`, at test stop) and at its own test stop; the master or the local
  runner appends them to the --journeys-out / --transfers-out files;
- the open load model's arrivals (`arrivals.py`): each process with phones (a worker, or
  the local runner) draws its share of the scenario's rate (1 / the number of workers the
  master's phase message counts; the message also carries the master's load model and
  rates, so workers follow the master's --load-model and --rate) and hands each arrival
  to a free phone, or drops it; the
  per-second tallies travel with the events and the master writes them to --load-out.
"""
import collections
import itertools
import logging
import time
import uuid
from random import Random

import gevent
from gevent.event import AsyncResult, Event
from locust.runners import MasterRunner, WorkerRunner

from chaos.client import AdminClient
from loadtests.phone.arrivals import ArrivalTally, FreePhones, PoissonSchedule
from loadtests.phone.guard import RunGuard
from loadtests.phone.journal import EventBuffer, JsonLinesSink, write_phases
from loadtests.scenario import Scenario
from loadtests.scenario.timeline import Phase, TimelineDriver, phases_for

log = logging.getLogger(__name__)
FLUSH_INTERVAL_S = 2.0
CLAIM_TIMEOUT_S = 10.0
FLUSH_WAIT_S = 5.0
SHARE_WAIT_S = 5.0  # how long a worker waits for the master to say how many workers share R


class Parked:
    """A phone waiting for an arrival (open model): `set(t_s)` by the arrival that picks it."""

    def __init__(self):
        self.event, self.t_s = Event(), None

    def set(self, t_s: float | None) -> None:
        self.t_s = t_s
        self.event.set()


class RunCoordinator:
    def __init__(self, environment, scenario: Scenario):
        self.environment, self.scenario = environment, scenario
        self.options = environment.parsed_options
        self.runner = environment.runner
        self.is_worker = isinstance(self.runner, WorkerRunner)
        self.is_master = isinstance(self.runner, MasterRunner)
        self.phase = "baseline"
        self.run_started_at = time.time()
        self.phases: list[Phase] = []
        self.buffer = EventBuffer()
        self.sink = None if self.is_worker else JsonLinesSink(self.options.journeys_out,
                                                              self.options.transfers_out)
        self._numbers = itertools.count()
        self._claims: dict[str, AsyncResult] = {}
        self._flushed: set[str] = set()
        self.journeys_by_worker: collections.Counter[str] = collections.Counter()
        self._greenlets: list[gevent.Greenlet] = []
        self.driver: TimelineDriver | None = None
        self.guard: RunGuard | None = None
        self.open_model = scenario.load_model == "open"
        self.free_phones, self.tally = FreePhones(), ArrivalTally()
        self.workers: int | None = None if self.is_worker else 1
        self.stopping, self._arrivals = False, None
        self._rates: list | None = None  # the master's, on a worker
        self._running = False
        self._register_messages()

    # -- messages -----------------------------------------------------------------------

    def _register_messages(self) -> None:
        if self.is_master:
            self.runner.register_message("banksim_events", self._on_events)
            self.runner.register_message("banksim_claim", self._on_claim)
            self.runner.register_message("banksim_flushed", self._on_flushed)
        elif self.is_worker:
            self.runner.register_message("banksim_phase", self._on_phase)
            self.runner.register_message("banksim_number", self._on_number)
            self.runner.register_message("banksim_flush", self._on_flush)

    def _on_events(self, environment, msg, **_kw):
        self.journeys_by_worker[msg.node_id] += len(msg.data.get("journeys") or [])
        self._store(msg.data)

    def _store(self, batch: dict) -> None:
        self.tally.merge(batch.get("arrivals"))
        self.sink.write(batch)
        if self.guard is not None:
            self.guard.feed(batch.get("journeys") or [])

    def _on_claim(self, environment, msg, **_kw):
        self.runner.send_message("banksim_number",
                                 {"req": msg.data["req"], "number": next(self._numbers)},
                                 client_id=msg.node_id)

    def _on_flushed(self, environment, msg, **_kw):
        self._flushed.add(msg.node_id)

    def _on_phase(self, environment, msg, **_kw):
        self.phase = msg.data["phase"]
        self.run_started_at = msg.data["run_started_at"]
        self.workers = msg.data.get("workers") or self.workers
        load = msg.data.get("load") or {}
        if load.get("model") == "open":  # the master's scenario decides, whatever ours said
            self.open_model, self._rates = True, [tuple(change) for change in load["rates"]]
            if self._running and self._arrivals is None:
                self._start_arrivals()

    def _on_number(self, environment, msg, **_kw):
        waiting = self._claims.pop(msg.data["req"], None)
        if waiting is not None:
            waiting.set(msg.data["number"])

    def _on_flush(self, environment, msg, **_kw):
        self._send_batch(always=True)
        self.runner.send_message("banksim_flushed", None)

    # -- what users call ----------------------------------------------------------------

    def claim_user_number(self) -> int:
        """The next value of the run-wide user counter (0, 1, 2, ...)."""
        if not self.is_worker:
            return next(self._numbers)
        request = uuid.uuid4().hex
        self._claims[request] = waiting = AsyncResult()
        self.runner.send_message("banksim_claim", {"req": request})
        try:
            return waiting.get(timeout=CLAIM_TIMEOUT_S)
        except gevent.Timeout:
            self._claims.pop(request, None)
            fallback = 1_000_000 * (self.runner.worker_index + 1) + next(self._numbers)
            log.warning("no user number from the master in %ss; using %d", CLAIM_TIMEOUT_S,
                        fallback)
            return fallback

    def wait_for_arrival(self) -> float | None:
        """Park the calling phone until an arrival picks it (open model): the arrival's
        time, the journey's `t_s`; None when the run is stopping instead (the phone starts
        nothing)."""
        if self.stopping:
            return None
        waiter = Parked()
        self.free_phones.park(waiter)
        try:
            waiter.event.wait()
        finally:
            if not waiter.event.is_set():
                self.free_phones.leave(waiter)
        return None if self.stopping else waiter.t_s

    def test_stopping(self) -> None:
        """No arrivals once the run stops: parked phones are let go at once (Locust would
        otherwise wait --stop-timeout for phones that are only waiting)."""
        self.stopping = True
        if self._arrivals is not None:
            self._arrivals.kill(block=False)
        while self.free_phones.arrive():
            pass

    def _arrive_forever(self) -> None:
        """The open model's arrivals in this process: its share of the scenario's rate."""
        waited = 0.0
        while self.workers is None and waited < SHARE_WAIT_S:
            gevent.sleep(0.05)
            waited += 0.05
        share = 1 / (self.workers or 1)
        index = getattr(self.runner, "worker_index", 0)
        schedule = PoissonSchedule(self._rates or self.scenario.rates(self._duration()),
                                   Random(f"{self.options.seed}:arrivals:{index}"), share)
        origin, t_s = time.monotonic() - self.seconds_since_start(), 0.0
        while (t_s := schedule.next_after(t_s)) is not None:
            gevent.sleep(max(0.0, origin + t_s - time.monotonic()))
            now = self.seconds_since_start()
            self.tally.count(now, self.free_phones.arrive(now))

    def _start_arrivals(self) -> None:
        self.stopping, self._running = False, True
        if self.open_model:
            self._spawn(self._arrive_forever)
            self._arrivals = self._greenlets[-1]

    def _duration(self) -> float:
        return (self.options.scenario_duration or self.options.run_time
                or self.scenario.duration_s)

    def seconds_since_start(self) -> float:
        return time.time() - self.run_started_at

    def record_journey(self, event: dict) -> None:
        self._record({"journeys": [event], "transfers": []})

    def record_transfer(self, intent: dict) -> None:
        self._record({"journeys": [], "transfers": [intent]})

    def _record(self, batch: dict) -> None:
        if self.is_worker:
            for event in batch["journeys"]:
                self.buffer.add_journey(event)
            for intent in batch["transfers"]:
                self.buffer.add_transfer(intent)
        else:
            self._store(batch)

    # -- run lifecycle ------------------------------------------------------------------

    def test_start(self) -> None:
        if self.is_worker:
            self.run_started_at = time.time()  # until the master's phase message says better
            self._spawn(self._flush_forever)
            self._start_arrivals()
            return
        self.run_started_at, self._numbers = time.time(), itertools.count()
        if not self.is_master:
            self._start_arrivals()
        scenario = self.scenario
        duration = (self.options.scenario_duration or self.options.run_time
                    or scenario.duration_s)
        self.phases = phases_for(scenario, duration)
        if self.options.phases_out:
            write_phases(self.options.phases_out, [p.as_dict() for p in self.phases])
        self.set_phase(self.phases[0].name)
        if not (scenario["timeline"] or scenario["releases"] or scenario.guardrails):
            return
        if not self.options.admin_token:
            raise ValueError("the timeline needs the admin token (--admin-token or "
                             "BANKSIM_ADMIN_TOKEN)")
        admin = AdminClient(self.environment.host, self.options.admin_token,
                            url_from="--host", token_from="--admin-token or BANKSIM_ADMIN_TOKEN")
        self.driver = TimelineDriver(scenario, admin, self.set_phase, duration_s=duration)
        self.guard = RunGuard(self.environment, scenario, self.driver, self.phases, duration,
                              self.seconds_since_start, self._flush_for_guard)
        self._spawn(self.driver.run, time.monotonic())
        self._spawn(self.guard.watch)

    def set_phase(self, name: str) -> None:
        self.phase = name
        if self.is_master:
            self.runner.send_message("banksim_phase",
                                     {"phase": name, "run_started_at": self.run_started_at,
                                      "workers": len(self.runner.clients.all) or None,
                                      "load": {"model": self.scenario.load_model,
                                               "rates": self.scenario.rates(self._duration())}})

    def _flush_for_guard(self) -> None:
        if self.is_master:
            self._collect_from_workers()

    def test_stop(self) -> None:
        self._running, self._arrivals = False, None
        for greenlet in self._greenlets:
            greenlet.kill(block=False)
        self._greenlets = []
        if self.is_worker:
            self._send_batch()
            return
        if self.is_master:
            self._collect_from_workers()
        elapsed = round(self.seconds_since_start(), 3)
        if self.options.phases_out:
            phases = self.phases or [Phase("baseline", 0.0, elapsed)]
            if self.guard is not None and self.guard.aborted_by:  # none after the last begun
                phases = self.guard.phases_begun(phases, self.phase)
            write_phases(self.options.phases_out,
                         [{**p.as_dict(), "end_s": min(p.end_s, elapsed)}
                          for p in phases if p.start_s <= elapsed])
        if self.options.load_out:
            write_phases(self.options.load_out, {
                "model": self.scenario.load_model, "rate": self.scenario.rate,
                "rates": self.scenario.rates(self._duration()) if self.open_model else [],
                "phones": self.options.num_users, "seconds": self.tally.rows()})
        if self.options.steps_out:
            write_phases(self.options.steps_out, {
                "steps": self.driver.records if self.driver else [],
                "chaos_rules": self.driver.chaos_rules if self.driver else [],
                **(self.guard.record() if self.guard else {"halted_at_s": None}),
                "run_started_at": self.run_started_at})  # epoch s: t_s 0, for alert times
        log.info("banksim: recorded %d journeys, %d transfer intents",
                 self.sink.counts["journeys"], self.sink.counts["transfers"])
        if self.is_master:
            log.info("banksim: journeys by worker: %s", ", ".join(
                f"{worker}={count}" for worker, count in sorted(self.journeys_by_worker.items())))

    def _collect_from_workers(self) -> None:
        workers = {client.id for client in self.runner.clients.all}
        self._flushed = set()
        self.runner.send_message("banksim_flush", None)
        deadline = time.monotonic() + FLUSH_WAIT_S
        while not workers <= self._flushed and time.monotonic() < deadline:
            gevent.sleep(0.05)
        if not workers <= self._flushed:
            log.warning("workers %s did not flush their events in time",
                        ", ".join(sorted(workers - self._flushed)))

    def _flush_forever(self) -> None:
        while True:
            gevent.sleep(FLUSH_INTERVAL_S)
            self._send_batch()

    def _send_batch(self, always: bool = False) -> None:
        batch = {**self.buffer.drain(), "arrivals": self.tally.drain()}
        if always or batch["journeys"] or batch["transfers"] or batch["arrivals"]:
            self.runner.send_message("banksim_events", batch)

    def _spawn(self, function, *args) -> None:
        greenlet = gevent.spawn(function, *args)
        greenlet.link_exception(lambda g: log.error("banksim: %s failed: %r", function.__name__,
                                                    g.exception))
        self._greenlets.append(greenlet)
