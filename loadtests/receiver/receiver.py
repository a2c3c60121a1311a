"""A webhook receiver done right: verify, dedupe, re-order, record.

- Verify: `Banksim-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`,
  compared in constant time; a signature more than TOLERANCE_S (5 minutes, as Stripe's
  libraries) from the receiver's clock is stale (a replay), and either answers 400 and is
  counted in `bad_signatures`. The bank signs each attempt afresh, so a retry never is.
- Dedupe: an event id already accepted answers 200 again (so the bank stops) and counts
  in `duplicates`; only the first copy is *effective*.
- Re-order: events carry a per-account `sequence`. An arrival lower than the highest one
  already arrived for its account counts as `out_of_order`. Events are written in
  sequence order per account: one that leaves a gap (or, the first of its account, is not
  sequence 1) waits up to `hold_s` for the earlier ones (a gap may also be events that
  nobody subscribed to; then it is written anyway).
- Record: every effective event is one JSON line `{received_at, event}` in `out`.
"""
import hashlib
import hmac
import json
import threading
import time
from pathlib import Path

TOLERANCE_S = 300
MAX_BODY = 64 * 1024


def parse_signature(header: str) -> tuple[int, list[str]] | None:
    """(t, [v1 signatures]) of a Banksim-Signature header, or None if malformed."""
    at, signatures = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit() and len(value) <= 12:
            at = int(value)
        elif key == "v1":
            signatures.append(value)
    return None if at is None or not signatures else (at, signatures)


def verify(secret: str, header: str, body: bytes, now: float | None = None,
           tolerance_s: float = TOLERANCE_S) -> str | None:
    """None when the signature is good and fresh, else why not."""
    parsed = parse_signature(header or "")
    if parsed is None:
        return "missing or malformed Banksim-Signature"
    at, signatures = parsed
    now = time.time() if now is None else now
    if abs(now - at) > tolerance_s:
        return "stale signature (outside the replay tolerance)"
    expected = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, sent) for sent in signatures):
        return "signature does not match"
    return None


class Receiver:
    """The receiver's state; `accept` is called once per POST (from many threads)."""

    def __init__(self, secret: str | None, out: Path | None = None, hold_s: float = 2.0):
        self.secret, self.out, self.hold_s = secret, out, hold_s
        self.lock = threading.Lock()
        self.events: dict[str, dict] = {}  # effective events by id
        self.counts = {"received": 0, "accepted": 0, "duplicates": 0, "out_of_order": 0,
                       "bad_signatures": 0, "bad_requests": 0}
        self._highest: dict[str, int] = {}  # account -> highest sequence arrived
        self._written: dict[str, int] = {}  # account -> last sequence written
        self._waiting: dict[str, dict[int, tuple[float, dict]]] = {}  # account -> held
        self._file = out.open("a", encoding="utf-8") if out is not None else None

    def accept(self, signature: str, body: bytes) -> tuple[int, str]:
        """(status, message) for one delivery."""
        with self.lock:
            self.counts["received"] += 1
            if self.secret is None:
                self.counts["bad_signatures"] += 1
                return 400, "this receiver has no secret yet"
            why = verify(self.secret, signature, body)
            if why is not None:
                self.counts["bad_signatures"] += 1
                return 400, why
            try:
                event = json.loads(body)
                event_id, account = str(event["id"]), str(event["account_id"])
                sequence = int(event["sequence"])
            except (ValueError, KeyError, TypeError, OverflowError):  # 1e999 is a float
                self.counts["bad_requests"] += 1
                return 400, "not an event"
            if event_id in self.events:
                self.counts["duplicates"] += 1
                return 200, "duplicate"
            received = time.time()
            self.events[event_id] = {**event, "received_at": received}
            self.counts["accepted"] += 1
            if sequence < self._highest.get(account, sequence):
                self.counts["out_of_order"] += 1
            self._highest[account] = max(self._highest.get(account, sequence), sequence)
            self._waiting.setdefault(account, {})[sequence] = (received, event)
            self._release(account, received)
            return 200, "ok"

    def _release(self, account: str, now: float, everything: bool = False) -> None:
        """Write the account's held events that are next in sequence, or waited long enough."""
        waiting = self._waiting.get(account, {})
        while waiting:
            first = min(waiting)
            last = self._written.get(account)
            received, event = waiting[first]
            in_turn = first == 1 if last is None else first <= last + 1
            if not (everything or in_turn or now - received >= self.hold_s):
                return
            del waiting[first]
            self._written[account] = max(first, last or first)
            if self._file is not None:
                self._file.write(json.dumps({"received_at": received, "event": event}) + "\n")
                self._file.flush()

    def tick(self) -> None:
        """Write held events whose wait is over (called periodically)."""
        with self.lock:
            for account in list(self._waiting):
                self._release(account, time.time())

    def close(self) -> None:
        with self.lock:
            for account in list(self._waiting):
                self._release(account, time.time(), everything=True)
            if self._file is not None:
                self._file.close()
                self._file = None

    def summary(self) -> dict:
        with self.lock:
            return dict(self.counts)
