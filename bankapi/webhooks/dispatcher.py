"""The dispatcher: a thread in each serving process that sends the outbox's deliveries.

Every `poll_s` it looks for due deliveries with a read, and claims those it finds
(`domain.deliveries.claim`: a lease, so with several gunicorn workers one attempt per
delivery is in flight; a poll that finds nothing takes no write lock, which on SQLite
every writer of the bank would wait for) and sends each on a
small pool of threads. Before sending it asks the delivery chaos the host installed
(`app.state.delivery_chaos`, None without chaos) for a plan: hold the delivery back
(`webhook_delay`, `webhook_reorder`; the attempt that follows a hold is made as it is),
drop this attempt (`webhook_drop`: it counts as a failed attempt and is retried), or send
it several times (`webhook_duplicate`). The state changes are short write
transactions of their own, never held open across the network.

What can go wrong: a process that dies mid-attempt leaves its lease to expire (the
attempt is made again: deliveries are at least once); a database that cannot be reached
is logged and tried again at the next poll.
"""
import json
import logging
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass

from ..clock import rfc3339, utcnow
from ..database.db import db
from ..domain import deliveries
from ..domain.deliveries import Job
from . import sender

log = logging.getLogger("banksim")
WARN_EVERY_S = 30.0


@dataclass(frozen=True)
class Plan:
    """What delivery chaos decided for one attempt (the default: send it once)."""
    delay_s: float = 0.0
    copies: int = 1
    drop: bool = False


def body_of(job: Job) -> bytes:
    event = {"id": job.event_id, "type": job.type, "created": rfc3339(job.created),
             "account_id": job.account_id, "sequence": job.sequence, "data": job.data}
    return json.dumps(event, separators=(",", ":")).encode()


class Dispatcher:
    def __init__(self, app, threads: int = 4):
        self.app, self.config = app, app.config
        self.timeout_s = self.config["WEBHOOK_TIMEOUT_S"]
        self.give_up_s = self.config["WEBHOOK_GIVE_UP_S"]
        self.poll_s = self.config["WEBHOOK_POLL_S"]
        # outlives an attempt with the most duplicates a webhook_duplicate fault asks (10)
        self.lease_s = self.timeout_s * 10 + 10
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="webhook")
        self.threads = threads
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhook-dispatcher",
                                        daemon=True)

    def start(self) -> "Dispatcher":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.timeout_s + 5)
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _run(self) -> None:
        warned_at = -WARN_EVERY_S
        while not self._stop.is_set():
            try:
                sent = self.run_once()
            except Exception:  # noqa: BLE001 - a bad poll must never end the dispatcher
                if time.monotonic() - warned_at >= WARN_EVERY_S:  # not every poll
                    warned_at = time.monotonic()
                    log.warning("webhooks: dispatcher poll failed", exc_info=True)
                sent = 0
            if not sent:
                self._stop.wait(self.poll_s)

    def run_once(self) -> int:
        """Claim as many due deliveries as there are threads (so each is sent as soon as it
        is claimed, well within its lease), send them, and record the outcomes that are in
        at once in one transaction; how many deliveries were handled."""
        with self.app.app_context():
            if db.first(deliveries.ANY_DUE, {"now": utcnow()}) is None:
                return 0
            with db.reading() as connection:
                due = deliveries.due(connection, utcnow(), self.threads)
            with db.write() as session:
                jobs = deliveries.claim(session, utcnow(), self.lease_s, due)
        pending = {self.pool.submit(self.deliver, job) for job in jobs}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            self._write([future.result() for future in done])
        return len(jobs)

    def plan(self, job: Job) -> Plan:
        """Chaos's plan for this attempt; none for the attempt right after a hold (it has
        had its fault: the hold)."""
        decide = self.app.state.delivery_chaos
        return Plan() if decide is None or job.held else decide(job)

    def deliver(self, job: Job) -> tuple | None:
        """The attempt; its outcome as (state change, arguments), None on a bug (the lease
        expires and the delivery is tried again)."""
        try:
            return self._deliver(job)
        except Exception:  # noqa: BLE001
            log.warning("webhooks: delivery %s failed unexpectedly", job.delivery_id,
                        exc_info=True)
            return None

    def _deliver(self, job: Job) -> tuple:
        plan = self.plan(job)
        if plan.delay_s > 0:
            return deliveries.postpone, job, utcnow(), plan.delay_s
        if plan.drop:
            return (deliveries.attempt_failed, job, utcnow(), None,
                    "dropped (chaos webhook_drop)", 1, self.give_up_s)
        body, statuses = body_of(job), []
        for _ in range(max(plan.copies, 1)):
            headers = {"Content-Type": "application/json", "User-Agent": "banksim-webhooks",
                       sender.SIGNATURE: sender.signature(job.secret, body)}
            statuses.append(sender.post(job.url, body, headers, self.timeout_s))
        good = [status for status, error in statuses if not error]
        if good:
            return deliveries.delivered, job, utcnow(), good[0], len(statuses)
        status, error = statuses[-1]
        return (deliveries.attempt_failed, job, utcnow(), status, error, len(statuses),
                self.give_up_s)

    def _write(self, outcomes: list) -> None:
        outcomes = [outcome for outcome in outcomes if outcome is not None]
        if not outcomes:
            return
        with self.app.app_context():
            with db.write() as session:
                for change, *args in outcomes:
                    change(session, *args)


def start(app) -> Dispatcher | None:
    """Start the process's dispatcher, unless WEBHOOK_DISPATCH is off."""
    if not app.config.get("WEBHOOK_DISPATCH"):
        return None
    app.state.dispatcher = Dispatcher(app).start()
    return app.state.dispatcher


__all__ = ["Dispatcher", "Plan", "body_of", "start"]
