"""Journey events and transfer intents: their exact shape, batching and JSON Lines files.

A journey event (consumed by `loadtests.report`):

    {"t_s": 12.3, "user": "user7@example.com", "journey": "send_money", "app_version": "4.2.0",
     "platform": "ios", "phase": "incident", "ok": false, "duration_ms": 812.4, "retries": 3,
     "requests": 6, "error": "POST /transfers: connection error (ConnectionError)",
     "network": "cellular", "failure": "reset_before_answer",
     "wait_s": 0.0, "fast_failed": 0, "budget_denied": 0, "breaker_opened": 0}

`network` is the phone's X-Network ("wifi" or "cellular"); `failure` how the failing
step's last attempt failed (null when the journey succeeded): FAILURES says each.
The last four are the client policy's doings during the journey (`mobile.MobileClient`):
seconds slept before retries, calls the open circuit breaker failed without a request,
retries the retry budget refused, times the breaker opened. Files written before they
existed lack them; the report reads them as 0.

A transfer intent (reconciled against the ledger by the orchestrator):

    {"intent": "int_...", "idempotency_key": "idem_...", "from_email": "user3@example.com",
     "from_account_id": "acc_...", "to_email": "user9@example.com", "to_account_id": "acc_...",
     "amount": 250, "currency": "GBP", "acked": true, "transfer_id": "tfr_...", "status": 201}

`intent` is the transfer's `reference`. `acked` is true only when the bank answered
201 with a completed transfer; `transfer_id` and `to_account_id` are what that answer
said (null otherwise); `status` is the final HTTP status (null when the last attempt got
no answer). `from_email` is the sender, whose current account `from_account_id` is: the
account money sent to that email must land on.
"""
import json
import os
import threading

JOURNEY_KEYS = ("t_s", "user", "journey", "app_version", "platform", "phase", "ok",
                "duration_ms", "retries", "requests", "error", "network", "failure",
                "wait_s", "fast_failed", "budget_denied", "breaker_opened")
POLICY_KEYS = ("wait_s", "fast_failed", "budget_denied", "breaker_opened")  # optional on read
NETWORKS = ("wifi", "cellular")
FAILURES = {
    "timeout_mid_body": "the headers came, then the read timeout fired inside the body",
    "truncated_body": "the headers came, then the connection closed before the whole body",
    "timeout_before_answer": "no byte of an answer within the read timeout",
    "reset_before_answer": "the connection was reset or closed before any byte (offline)",
    "connect_failed": "no connection to the bank",
    "error_answer": "an answer the app could not take (an error status, a body not JSON)",
    "failed_fast": "the app's open circuit breaker failed the call without a request",
    "bug": "the load test itself failed",
}
TRANSFER_KEYS = ("intent", "idempotency_key", "from_email", "from_account_id", "to_email",
                 "to_account_id", "amount", "currency", "acked", "transfer_id", "status")
PHASES = ("baseline", "incident", "recovery")


def journey_event(*, t_s: float, user: str, journey: str, app_version: str, platform: str,
                  phase: str, ok: bool, duration_ms: float, retries: int, requests: int,
                  error: str | None, network: str = "cellular",
                  failure: str | None = None, wait_s: float = 0.0, fast_failed: int = 0,
                  budget_denied: int = 0, breaker_opened: int = 0) -> dict:
    if phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r}")
    if network not in NETWORKS or (failure is not None and failure not in FAILURES):
        raise ValueError(f"unknown network {network!r} or failure {failure!r}")
    return {"t_s": round(float(t_s), 3), "user": str(user), "journey": str(journey),
            "app_version": str(app_version), "platform": str(platform), "phase": phase,
            "ok": bool(ok), "duration_ms": round(float(duration_ms), 3), "retries": int(retries),
            "requests": int(requests), "error": None if error is None else str(error),
            "network": network, "failure": None if ok else failure,
            "wait_s": round(float(wait_s), 3), "fast_failed": int(fast_failed),
            "budget_denied": int(budget_denied), "breaker_opened": int(breaker_opened)}


def transfer_intent(*, intent: str, idempotency_key: str, from_account_id: str, to_email: str,
                    amount: int, acked: bool, transfer_id: str | None, status: int | None,
                    from_email: str = "", to_account_id: str | None = None,
                    currency: str = "GBP") -> dict:
    return {"intent": intent, "idempotency_key": idempotency_key, "from_email": from_email,
            "from_account_id": from_account_id, "to_email": to_email,
            "to_account_id": to_account_id, "amount": int(amount), "currency": currency,
            "acked": bool(acked), "transfer_id": transfer_id,
            "status": None if status is None else int(status)}


class EventBuffer:
    """Events waiting to be written (locally) or sent to the master (on a worker)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.journeys: list[dict] = []
        self.transfers: list[dict] = []

    def add_journey(self, event: dict) -> None:
        with self._lock:
            self.journeys.append(event)

    def add_transfer(self, intent: dict) -> None:
        with self._lock:
            self.transfers.append(intent)

    def drain(self) -> dict:
        """Everything buffered, as one message body; the buffer is empty afterwards."""
        with self._lock:
            batch = {"journeys": self.journeys, "transfers": self.transfers}
            self.journeys, self.transfers = [], []
        return batch


class JsonLinesSink:
    """Appends events to the files named by --journeys-out / --transfers-out (either optional).

    Files are truncated when the sink is created (once per Locust process), so a
    file holds one process's runs; each batch is appended and flushed at once.
    """

    def __init__(self, journeys_path: str | None, transfers_path: str | None):
        self.paths = {"journeys": journeys_path or None, "transfers": transfers_path or None}
        self.counts = {"journeys": 0, "transfers": 0}
        for path in self.paths.values():
            if path:
                os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
                open(path, "w").close()

    def write(self, batch: dict) -> None:
        for kind, path in self.paths.items():
            rows = batch.get(kind) or []
            self.counts[kind] += len(rows)
            if path and rows:
                with open(path, "a", encoding="utf-8") as out:
                    out.writelines(json.dumps(row, separators=(",", ":")) + "\n" for row in rows)


def write_phases(path: str, phases: list[dict]) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        json.dump(phases, out, indent=2)
        out.write("\n")
